import { describe, expect, test } from 'vitest';
import { ConfigError, InterruptedError } from '../errors.ts';
import type { MarkerManifest } from '../model/marker.ts';
import type { RecoveryPoint } from '../model/recovery-point.ts';
import type { CheckResult } from '../model/report.ts';
import { RestoreFailedError } from '../postgres/restore-errors.ts';
import { buildReport, type ReportInput } from './build-report.ts';
import { NOTHING_VERIFIED } from './restore-checks.ts';
import type { Findings } from './run-state.ts';

// buildReport is pure: these tests give it the findings of phases as plain values, the way runDrill does
// after the phases ran against a real database (src/drill/run-drill.test.ts covers that end to end).

const startedAt = new Date('2026-11-30T04:00:00Z');
const point: RecoveryPoint = {
  source: 'file',
  id: 'backups/shop.dump',
  createdAt: new Date('2026-11-30T01:00:00Z'),
  createdAtBasis: 'archive-header',
  facts: { format: 'custom' },
};
const passed = (name: string): CheckResult => ({ name, status: 'passed', expected: 1, actual: 1 });
const failed = (name: string): CheckResult => ({ name, status: 'failed', expected: 1, actual: 2 });
const restoreCompleted: CheckResult = { name: 'restore completed', status: 'passed', expected: true, actual: true };
const markersPresent: CheckResult = {
  name: 'markers present',
  status: 'passed',
  expected: 'a marker',
  actual: 'manifest',
};
const manifest = {
  takenAt: '2026-11-30T02:00:00Z',
  tables: { 'public.orders': {}, 'public.customers': {} },
} as unknown as MarkerManifest; // only its table names matter to the report

function input(state: Partial<ReportInput['state']>, more: Partial<ReportInput> = {}): ReportInput {
  const findings: Findings = { checks: [], notVerified: [], algorithms: [], bodyStarted: false, point, ...state };
  return {
    runId: 'run-1',
    drill: { name: 'shop', file: 'drills/shop.drill.ts' },
    controls: [],
    cadence: null,
    restore: true,
    hasBody: false,
    targets: { rtoSeconds: null, rpoSeconds: null },
    startedAt,
    finishedAt: new Date('2026-11-30T04:10:00Z'),
    phases: [],
    rtoSeconds: null,
    environmentKind: 'local',
    sandbox: null,
    ...more,
    state: { env: { kind: 'local', version: '16.4' }, ...findings },
  };
}
const names = (checks: readonly CheckResult[]) => checks.map((c) => `${c.name}: ${c.status}`);

describe('status', () => {
  test('passed: no phase failed, no check failed, and a check that could fail ran and passed', () => {
    const report = buildReport(
      input({ checks: [restoreCompleted, markersPresent, passed('checksum public.orders (manifest)')] }),
    );
    expect(report.status).toBe('passed');
    expect(report.error).toBeUndefined();
    expect(names(report.checks)).not.toContain(`${NOTHING_VERIFIED}: failed`);
  });

  test('failed: any failed check', () => {
    const report = buildReport(
      input({ checks: [restoreCompleted, passed('a'), failed('checksum public.orders (manifest)')] }),
    );
    expect(report.status).toBe('failed');
  });

  test('failed, not passed, when only steps passed: "something verified" fails, naming them', () => {
    const report = buildReport(input({ checks: [restoreCompleted, markersPresent] }));
    expect(report.status).toBe('failed');
    expect(report.checks.at(-1)).toMatchObject({ name: NOTHING_VERIFIED, status: 'failed' });
    expect(report.checks.at(-1)?.detail).toMatch(/only steps passed \(restore completed, markers present\)/);
  });

  test('failed, not passed, when every check was skipped', () => {
    const skipped: CheckResult = { name: 'policy freshness', status: 'skipped', expected: null, actual: null };
    const report = buildReport(input({ checks: [skipped] }));
    expect(report.status).toBe('failed');
    expect(report.checks.at(-1)?.detail).toMatch(/^no check ran \(1 skipped\)/);
  });

  test('a met RPO target is a check that could have failed: it counts as verification', () => {
    const report = buildReport(
      input({ checks: [restoreCompleted] }, { targets: { rtoSeconds: null, rpoSeconds: 4 * 3600 } }),
    );
    expect(names(report.checks)).toEqual(['restore completed: passed', 'objective RPO: passed']);
    expect(report.status).toBe('passed');
  });

  test('error when interrupted, even after checks failed; the checks the interruption cut off are skipped', () => {
    const report = buildReport(
      input(
        {
          checks: [failed('policy freshness')],
          failure: { phase: 'restore', error: new InterruptedError('SIGTERM') },
          restorable: { manifest },
        },
        { hasBody: true },
      ),
    );
    expect(report.status).toBe('error');
    expect(report.error).toEqual({ phase: 'restore', message: 'interrupted by SIGTERM' });
    // The signal travels as data, not only in the message: the CLI exits 143 for it.
    expect(new InterruptedError('SIGTERM').signal).toBe('SIGTERM');
    expect(new InterruptedError(new Error('test timed out')).signal).toBeNull();
    expect(names(report.checks)).toEqual([
      'policy freshness: failed',
      'restore completed: failed',
      'markers present: skipped',
      'table exists public.orders (manifest): skipped',
      'table exists public.customers (manifest): skipped',
      'drill assertions: skipped',
    ]);
    // No vacuous-pass check on top of a failure: the failure already says why.
    expect(names(report.checks)).not.toContain(`${NOTHING_VERIFIED}: failed`);
  });

  test('error when the environment failed to start: the backup was not judged, and the report names the kind', () => {
    const report = buildReport(
      input(
        { env: undefined, failure: { phase: 'provision', error: new ConfigError('no docker') } },
        { environmentKind: 'container' },
      ),
    );
    expect(report.status).toBe('error');
    expect(report.environment).toEqual({ kind: 'container', version: null });
    expect(names(report.checks)).toEqual(['restore completed: skipped', 'markers present: skipped']);
  });

  test('error when the disposable database failed under pg_restore; failed when the archive is damaged', () => {
    const summary = { errors: [], count: 0, ignored: null, workerDied: false };
    const underRestore = buildReport(
      input({ failure: { phase: 'restore', error: new RestoreFailedError(1, 'environment', summary, '') } }),
    );
    expect(underRestore.status).toBe('error');
    const damaged = buildReport(
      input({ failure: { phase: 'restore', error: new RestoreFailedError(1, 'damaged-archive', summary, '') } }),
    );
    expect(damaged.status).toBe('failed');
    expect(damaged.checks[0]).toMatchObject({ name: 'restore completed', status: 'failed' });
    expect(damaged.checks[0]?.detail).toMatch(/the archive is damaged/);
  });

  test('failed when no recovery point could be picked (a problem of the backups, not of the drill host)', () => {
    const report = buildReport(
      input({
        point: undefined,
        failure: { phase: 'locate', error: new ConfigError('no recovery points found in backups/') },
      }),
    );
    expect(report.status).toBe('failed');
    expect(report.recoveryPoint).toBeNull();
  });

  test("error for an unexpected error (not one of restore-drill's own)", () => {
    const report = buildReport(
      input({ failure: { phase: 'verify', error: new TypeError('boom') }, bodyStarted: false }, { hasBody: true }),
    );
    expect(report.status).toBe('error');
    // verify failed: the steps before it are not skipped, the body that never ran is.
    expect(names(report.checks)).toEqual(['drill assertions: skipped']);
  });
});

describe('not verified', () => {
  test('a phase that failed: nothing (or not everything) was compared', () => {
    const before = buildReport(input({ failure: { phase: 'provision', error: new ConfigError('x') } }));
    expect(before.notVerified).toEqual([
      expect.objectContaining({
        reason: 'not-compared',
        detail: 'the provision phase failed: no table or object was compared',
      }),
    ]);
    const during = buildReport(input({ failure: { phase: 'verify', error: new ConfigError('x') } }));
    expect(during.notVerified?.map((n) => `${n.reason}: ${n.detail}`)).toEqual([
      'not-compared: the verify phase failed before it finished: only the checks listed ran',
    ]);
  });

  test('a policy-only drill: the recovery point was not restored', () => {
    const report = buildReport(input({ env: undefined, checks: [passed('policy freshness')] }, { restore: false }));
    expect(report.status).toBe('passed');
    expect(report.notVerified).toEqual([
      expect.objectContaining({ kind: 'database', name: point.id, reason: 'not-restored' }),
    ]);
    expect(report.environment).toBeNull();
  });

  test('a restore without the sandbox; and each entry once, however many markers listed it', () => {
    const sandbox: CheckResult = {
      name: 'restore sandbox',
      status: 'skipped',
      expected: 'no blocked attempt',
      actual: null,
      detail: 'restore was not sandboxed (opted out)',
    };
    const table = { kind: 'table', name: 'public.audit', reason: 'no-marker', detail: 'no marker' } as const;
    const report = buildReport(input({ checks: [passed('a')], notVerified: [table, table] }, { sandbox }));
    expect(report.checks.map((c) => c.name)).toEqual(['a', 'restore sandbox']);
    expect(report.notVerified?.map((n) => n.reason)).toEqual(['no-marker', 'not-sandboxed']);
  });
});

describe('RPO basis', () => {
  const targets = { rtoSeconds: null, rpoSeconds: 3600 };

  test('from the newest trusted marker or manifest, when verify found one', () => {
    const report = buildReport(
      input(
        {
          checks: [passed('a')],
          dataTime: { basis: 'manifest', at: '2026-11-30T03:30:00Z', label: "the dump's manifest" },
        },
        { targets },
      ),
    );
    expect(report.objectives.rpo).toEqual({ targetSeconds: 3600, actualSeconds: 1800, met: true, basis: 'manifest' });
    expect(report.recoveryPoint?.markerAt).toBe('2026-11-30T03:30:00Z');
    expect(report.checks.find((c) => c.name === 'objective RPO')?.detail).toMatch(
      /^measured from the dump's manifest \(2026-11-30T03:30:00Z\)/,
    );
  });

  test("from the recovery point's creation time without one, and it says so", () => {
    const report = buildReport(input({ checks: [passed('a')] }, { targets }));
    expect(report.objectives.rpo).toEqual({
      targetSeconds: 3600,
      actualSeconds: 3 * 3600,
      met: false,
      basis: 'metadata',
    });
    expect(report.recoveryPoint?.markerAt).toBeNull();
    const rpo = report.checks.find((c) => c.name === 'objective RPO');
    expect(rpo?.status).toBe('failed');
    expect(rpo?.detail).toMatch(/creation time/);
    expect(report.status).toBe('failed');
  });

  test('not measured without a recovery point: skipped, never a pass', () => {
    const report = buildReport(
      input({ point: undefined, failure: { phase: 'locate', error: new ConfigError('none') } }, { targets }),
    );
    expect(report.objectives.rpo).toEqual({ targetSeconds: 3600, actualSeconds: null, met: null, basis: null });
    expect(report.checks.find((c) => c.name === 'objective RPO')?.status).toBe('skipped');
  });

  test('the RTO is measured only when verify completed', () => {
    const report = buildReport(
      input({ checks: [passed('a')] }, { targets: { rtoSeconds: 60, rpoSeconds: null }, rtoSeconds: 75.5 }),
    );
    expect(report.objectives.rto).toEqual({ targetSeconds: 60, actualSeconds: 75.5, met: false });
    expect(report.status).toBe('failed');
  });
});
