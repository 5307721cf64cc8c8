import type { DrillMeta } from '../model/drill-meta.ts';
import { ConfigError } from '../errors.ts';
import { describeEndpoint, send } from '../util/endpoint.ts';
import { writeFileAtomically } from '../util/atomic-write.ts';
import { renderMetrics } from './metrics.ts';

/** The Prometheus text format's content type, as the Pushgateway expects it. */
const TEXT_FORMAT = 'text/plain; version=0.0.4; charset=utf-8';

/**
 * Checks a `--metrics-file` path: node_exporter's textfile collector reads only `*.prom` files.
 *
 * @example
 * checkMetricsPath('/var/lib/node_exporter/textfile/restore_drill.prom');
 */
export function checkMetricsPath(path: string): string {
  if (!path.endsWith('.prom')) {
    throw new ConfigError(
      `--metrics-file ${path} does not end in .prom`,
      "node_exporter's textfile collector reads only *.prom files",
    );
  }
  return path;
}

/**
 * Writes the drills' metrics for node_exporter's textfile collector: into a temp file in the same
 * directory (not ending in `.prom`, so the collector never reads it half-written), then renamed over
 * `path` in one step. Returns why it failed, or null.
 *
 * @example
 * const problem = await writeMetricsFile('/var/lib/node_exporter/textfile/restore_drill.prom', run.drills);
 */
export function writeMetricsFile(path: string, drills: readonly DrillMeta[]): Promise<string | null> {
  return writeFileAtomically(path, renderMetrics(drills));
}

/**
 * Pushes each drill's metrics to a Pushgateway: `PUT <url>/metrics/job/restore_drill/drill/<name>`, which
 * replaces what that drill pushed last time. A name that cannot be a path segment as it is (a `/`, or
 * empty) is sent base64url-encoded (`drill@base64/…`), as the Pushgateway allows. Returns one line per
 * failed push.
 *
 * @example
 * const problems = await pushMetrics(new URL('http://pushgateway:9091'), run.drills);
 */
export async function pushMetrics(gateway: URL, drills: readonly DrillMeta[]): Promise<string[]> {
  const problems: string[] = [];
  for (const drill of drills) {
    const url = new URL(gateway);
    url.pathname = `${url.pathname.replace(/\/+$/, '')}/metrics/job/restore_drill/${groupingSegment('drill', drill.name)}`;
    const problem = await send(url, {
      method: 'PUT',
      headers: { 'content-type': TEXT_FORMAT },
      body: renderMetrics([drill], { drillLabel: false }),
    });
    if (problem)
      problems.push(`metrics push for drill "${drill.name}" to ${describeEndpoint(gateway)} failed: ${problem}`);
  }
  return problems;
}

function groupingSegment(label: string, value: string): string {
  if (value === '' || value.includes('/'))
    return `${label}@base64/${Buffer.from(value, 'utf8').toString('base64url') || '='}`;
  return `${label}/${encodeURIComponent(value)}`;
}
