import type { DrillMeta } from '../model/drill-meta.ts';

/** The metric families restore-drill exports, with their help text. All are gauges. */
export const METRICS = {
  restore_drill_verified: '1 when the drill passed: restored, every check passed and the objectives were met; else 0.',
  restore_drill_restore_seconds: 'Seconds the restore phase took.',
  restore_drill_rto_achieved_seconds: 'Achieved recovery time: start of locate to end of verify, in seconds.',
  restore_drill_rpo_achieved_seconds: 'Achieved recovery point: drill start minus the recovery point time, in seconds.',
  restore_drill_rto_met: '1 when the RTO target was met, 0 when missed; absent without a target.',
  restore_drill_rpo_met: '1 when the RPO target was met, 0 when missed; absent without a target.',
  restore_drill_check_passed: '1 when the check passed, 0 when it failed or was skipped.',
  restore_drill_last_run_timestamp_seconds: 'When the drill finished, in Unix seconds.',
  restore_drill_ledger_position:
    "Position of the drill's report in its ledger; the digest label is its file's sha256 (the ledger head to verify against).",
  restore_drill_demo_key:
    '1 when the report was signed with a demo key: not evidence, whatever restore_drill_verified says; else 0.',
} as const;

/** Options of {@link renderMetrics}. */
export interface MetricsOptions {
  /**
   * Put the `drill` label on every sample (default). Off for a Pushgateway push, whose grouping key
   * (`/drill/<name>` in the URL) adds it: a pushed metric must not carry a grouping label itself.
   */
  readonly drillLabel?: boolean;
}

/**
 * Drill results in the Prometheus text exposition format (version 0.0.4), for node_exporter's textfile
 * collector or a Pushgateway: `# HELP` and `# TYPE` once per family, then one sample per drill (and per
 * check for `restore_drill_check_passed`). Label values are escaped (`\\`, `"`, line feed); samples
 * carry no timestamps (the textfile collector refuses them). A value that was not measured is left out.
 *
 * @example
 * renderMetrics(run.drills);
 * // # HELP restore_drill_verified 1 when the drill passed …
 * // # TYPE restore_drill_verified gauge
 * // restore_drill_verified{drill="shop"} 1
 */
export function renderMetrics(drills: readonly DrillMeta[], options: MetricsOptions = {}): string {
  const withDrill = options.drillLabel ?? true;
  const labels = (drill: DrillMeta, extra: Record<string, string> = {}) =>
    formatLabels({ ...(withDrill ? { drill: drill.name } : {}), ...extra });
  const bit = (value: boolean) => (value ? 1 : 0);
  const samples: Record<keyof typeof METRICS, string[]> = {
    restore_drill_verified: [],
    restore_drill_restore_seconds: [],
    restore_drill_rto_achieved_seconds: [],
    restore_drill_rpo_achieved_seconds: [],
    restore_drill_rto_met: [],
    restore_drill_rpo_met: [],
    restore_drill_check_passed: [],
    restore_drill_last_run_timestamp_seconds: [],
    restore_drill_ledger_position: [],
    restore_drill_demo_key: [],
  };
  // One series per drill name: with two drills of the same name, the later result counts (the textfile
  // collector drops a whole file that repeats a series).
  for (const drill of new Map(drills.map((d) => [d.name, d])).values()) {
    const add = (family: keyof typeof METRICS, value: number | null, extra?: Record<string, string>) => {
      if (value !== null && Number.isFinite(value)) samples[family].push(`${family}${labels(drill, extra)} ${value}`);
    };
    add('restore_drill_verified', bit(drill.status === 'passed'));
    add('restore_drill_restore_seconds', drill.restoreSeconds);
    add('restore_drill_rto_achieved_seconds', drill.rto.actualSeconds);
    add('restore_drill_rpo_achieved_seconds', drill.rpo.actualSeconds);
    add('restore_drill_rto_met', drill.rto.met === null ? null : bit(drill.rto.met));
    add('restore_drill_rpo_met', drill.rpo.met === null ? null : bit(drill.rpo.met));
    // Two checks of one drill with the same name would be one series twice: keep the first.
    const seen = new Set<string>();
    for (const check of drill.checks) {
      if (seen.has(check.name)) continue;
      seen.add(check.name);
      add('restore_drill_check_passed', bit(check.status === 'passed'), { check: check.name });
    }
    add('restore_drill_last_run_timestamp_seconds', Date.parse(drill.finishedAt) / 1000);
    if (drill.ledger) add('restore_drill_ledger_position', drill.ledger.position, { digest: drill.ledger.digest });
    add('restore_drill_demo_key', bit(drill.demoKey === true));
  }
  const lines: string[] = [];
  for (const [family, help] of Object.entries(METRICS) as [keyof typeof METRICS, string][]) {
    if (samples[family].length === 0) continue;
    lines.push(
      `# HELP ${family} ${help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`,
      `# TYPE ${family} gauge`,
      ...samples[family],
    );
  }
  return lines.length > 0 ? `${lines.join('\n')}\n` : '';
}

/**
 * `{name="value",…}` with values escaped as the exposition format requires; empty without labels.
 *
 * @example
 * formatLabels({ check: 'say "hi"\n' }); // '{check="say \\"hi\\"\\n"}'
 */
export function formatLabels(labels: Record<string, string>): string {
  const parts = Object.entries(labels).map(
    ([name, value]) => `${name}="${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`,
  );
  return parts.length > 0 ? `{${parts.join(',')}}` : '';
}
