import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startHttpReceiver, type HttpReceiver } from '../testing/http-receiver.ts';
import { sampleDrillMeta } from './ci-summary.fixture.ts';
import { checkMetricsPath, pushMetrics, writeMetricsFile } from './metrics-export.ts';
import { formatLabels, renderMetrics } from './metrics.ts';

const passed = sampleDrillMeta();
const failed = sampleDrillMeta({
  name: 'orders "eu"\\west',
  status: 'failed',
  restoreSeconds: null,
  rto: { actualSeconds: 20, targetSeconds: null, met: null },
  rpo: { actualSeconds: 90000, targetSeconds: 3600, met: false, basis: 'metadata' },
  checks: [
    { name: 'restore completed', status: 'passed', expected: true, actual: true },
    { name: 'checksum public.orders\n(manifest)', status: 'failed', expected: 'a', actual: 'b' },
    { name: 'drill assertions', status: 'skipped', expected: null, actual: null },
  ],
});

/** Parses the exposition format strictly enough for these tests: `name{labels} value` and comments. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.trimEnd().split('\n')) {
    if (line.startsWith('# HELP ') || line.startsWith('# TYPE ')) continue;
    const m = /^([a-z_]+)(\{(?:[a-z_]+="(?:[^"\\\n]|\\["\\n])*",?)*\})? (-?[0-9.e+]+)$/.exec(line);
    if (!m) throw new Error(`not an exposition line: ${JSON.stringify(line)}`);
    out.set(`${m[1]}${m[2] ?? ''}`, Number(m[3]));
  }
  return out;
}

describe('renderMetrics', () => {
  const text = renderMetrics([passed, failed]);
  const values = samples(text);

  test('per drill: verified, restore seconds, achieved RTO/RPO, met flags, last run; per check: passed', () => {
    const d = '{drill="shop restores"}';
    expect(values.get(`restore_drill_verified${d}`)).toBe(1);
    expect(values.get(`restore_drill_restore_seconds${d}`)).toBe(150);
    expect(values.get(`restore_drill_rto_achieved_seconds${d}`)).toBe(187);
    expect(values.get(`restore_drill_rpo_achieved_seconds${d}`)).toBe(3600);
    expect(values.get(`restore_drill_rto_met${d}`)).toBe(1);
    expect(values.get(`restore_drill_rpo_met${d}`)).toBe(1);
    expect(values.get(`restore_drill_last_run_timestamp_seconds${d}`)).toBe(
      Date.parse('2026-11-23T17:55:33.250Z') / 1000,
    );
    expect(
      values.get('restore_drill_check_passed{drill="shop restores",check="row count public.orders (manifest)"}'),
    ).toBe(1);
  });

  test('label values are escaped (backslash, quote, line feed); unmeasured values are left out', () => {
    const d = '{drill="orders \\"eu\\"\\\\west"}';
    expect(values.get(`restore_drill_verified${d}`)).toBe(0);
    expect(values.get(`restore_drill_rpo_met${d}`)).toBe(0);
    expect(values.has(`restore_drill_restore_seconds${d}`)).toBe(false);
    expect(values.has(`restore_drill_rto_met${d}`)).toBe(false);
    expect(
      values.get(
        'restore_drill_check_passed{drill="orders \\"eu\\"\\\\west",check="checksum public.orders\\n(manifest)"}',
      ),
    ).toBe(0);
    expect(values.get('restore_drill_check_passed{drill="orders \\"eu\\"\\\\west",check="drill assertions"}')).toBe(0);
    expect(formatLabels({})).toBe('');
  });

  test('HELP and TYPE once per family, before its samples; no timestamps', () => {
    expect(text.match(/^# TYPE restore_drill_verified gauge$/gm)).toHaveLength(1);
    const lines = text.split('\n');
    expect(lines.indexOf('# TYPE restore_drill_verified gauge')).toBeLessThan(
      lines.findIndex((l) => l.startsWith('restore_drill_verified{')),
    );
    expect(text.endsWith('\n')).toBe(true);
    // A drill name seen twice is one series (the later result), never a duplicate the collector would reject.
    const twice = samples(renderMetrics([passed, { ...passed, status: 'failed' }]));
    expect(twice.get('restore_drill_verified{drill="shop restores"}')).toBe(0);
  });
});

describe('metrics files and the Pushgateway', () => {
  let dir: string;
  let gateway: HttpReceiver;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'metrics-test-'));
    gateway = await startHttpReceiver();
  });
  afterAll(async () => {
    await gateway?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test('the textfile is replaced in one step and no temp file is left', async () => {
    const path = join(dir, 'textfile', 'restore_drill.prom');
    expect(await writeMetricsFile(path, [passed])).toBeNull();
    expect(await writeMetricsFile(path, [passed, failed])).toBeNull();
    expect(await readFile(path, 'utf8')).toBe(renderMetrics([passed, failed]));
    expect(await readdir(join(dir, 'textfile'))).toEqual(['restore_drill.prom']);
    expect(() => checkMetricsPath(join(dir, 'restore_drill.txt'))).toThrow(/does not end in \.prom/);
  });

  test('an unwritable place is a problem to report, not an exception', async () => {
    // A path below a regular file cannot be created, not even by root.
    expect(await writeMetricsFile(join(dir, 'textfile', 'restore_drill.prom', 'x.prom'), [passed])).toMatch(
      /^E(EXIST|NOTDIR)$/,
    );
  });

  test('each drill is PUT to /metrics/job/restore_drill/drill/<name>, without its own drill label', async () => {
    const slashy = sampleDrillMeta({ name: 'eu/orders' });
    expect(await pushMetrics(new URL(`${gateway.url}/base/`), [passed, slashy])).toEqual([]);
    const [first, second] = gateway.requests;
    expect(first).toMatchObject({ method: 'PUT', url: '/base/metrics/job/restore_drill/drill/shop%20restores' });
    expect(first!.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(first!.body).toBe(renderMetrics([passed], { drillLabel: false }));
    expect(samples(first!.body).get('restore_drill_verified')).toBe(1);
    expect(first!.body).not.toContain('drill="');
    expect(second!.url).toBe(
      `/base/metrics/job/restore_drill/drill@base64/${Buffer.from('eu/orders').toString('base64url')}`,
    );

    gateway.status = 500;
    try {
      expect(await pushMetrics(new URL(gateway.url), [passed])).toEqual([
        `metrics push for drill "shop restores" to ${gateway.url} failed: HTTP 500 Internal Server Error`,
      ]);
    } finally {
      gateway.status = 200;
    }
  });
});

test("the ledger position of each drill's report, labelled with its digest: the head, anchored in Prometheus", () => {
  const digest = `sha256:${'b'.repeat(64)}`;
  const text = renderMetrics([{ ...sampleDrillMeta(), ledger: { position: 17, digest } }]);
  expect(samples(text).get(`restore_drill_ledger_position{drill="shop restores",digest="${digest}"}`)).toBe(17);
  expect(renderMetrics([sampleDrillMeta()])).not.toContain('restore_drill_ledger_position');
});

test('a drill signed with a demo key says so in restore_drill_demo_key', () => {
  expect(renderMetrics([sampleDrillMeta({ demoKey: true })])).toContain(
    'restore_drill_demo_key{drill="shop restores"} 1\n',
  );
  expect(renderMetrics([sampleDrillMeta()])).toContain('restore_drill_demo_key{drill="shop restores"} 0\n');
});
