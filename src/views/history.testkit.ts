import { generateKeyPairSync } from 'node:crypto';
import { basename } from 'node:path';
import type { DrillReport, DrillStatus, PhaseTiming } from '../model/report.ts';
import { writeReport } from '../drill/report-writer.ts';
import { sampleReport } from '../model/sample-report.fixture.ts';
import { fingerprint, type SigningKey } from '../evidence/signing-key.ts';

/** One past run of a drill, for building a report directory in tests. */
export interface PastRun {
  /** ISO time the drill started. */
  readonly at: string;
  /** Seconds of the restore phase; null when the restore failed. */
  readonly restoreSeconds: number | null;
  /** Default `passed`, or `failed` when `restoreSeconds` is null. */
  readonly status?: DrillStatus;
  /** Achieved RPO in seconds; default 1 h. */
  readonly rpoSeconds?: number;
}

/** A drill and its runs over time. */
export interface PastDrill {
  readonly name: string;
  readonly runs: readonly PastRun[];
  /** RTO target in seconds; default 15 min. Null for none. */
  readonly rtoTarget?: number | null;
  /** RPO target in seconds; default 8 h. */
  readonly rpoTarget?: number | null;
  readonly controls?: readonly string[];
}

/** A fresh Ed25519 signing key held in memory. */
export function newSigningKey(): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { privateKey, publicKey, keyid: fingerprint(publicKey), source: 'generated in memory' };
}

/**
 * The report of one past run: phases `locate` 0.5 s, `provision` 3 s, `restore`, `verify` 20 s, with
 * objectives measured from them.
 */
export function pastReport(drill: PastDrill, run: PastRun): Omit<DrillReport, 'previous'> {
  const start = Date.parse(run.at);
  const restored = run.restoreSeconds !== null;
  const durations: Array<[PhaseTiming['name'], number, PhaseTiming['status']]> = [
    ['locate', 0.5, 'ok'],
    ['provision', 3, 'ok'],
    ['restore', run.restoreSeconds ?? 12, restored ? 'ok' : 'failed'],
    ...(restored ? [['verify', 20, 'ok'] as [PhaseTiming['name'], number, PhaseTiming['status']]] : []),
  ];
  let offset = 0;
  const phases = durations.map(([name, seconds, status]) => {
    const phase = { name, startedAt: new Date(start + offset * 1000).toISOString(), seconds, status };
    offset += seconds;
    return phase;
  });
  const rtoTarget = drill.rtoTarget === undefined ? 900 : drill.rtoTarget;
  const rpoTarget = drill.rpoTarget === undefined ? 28800 : drill.rpoTarget;
  const rpoActual = run.rpoSeconds ?? 3600;
  const status = run.status ?? (restored ? 'passed' : 'failed');
  const { previous: _, ...base } = sampleReport();
  return {
    ...base,
    runId: `rd-${run.at.replace(/\D/g, '').slice(0, 14)}`,
    drill: { name: drill.name, file: `drills/${drill.name.toLowerCase().replace(/\W+/g, '-')}.drill.ts` },
    controls: [...(drill.controls ?? [])],
    status,
    ...(restored
      ? {}
      : { error: { phase: 'restore' as const, message: 'pg_restore exited with code 1: out of disk space' } }),
    startedAt: new Date(start).toISOString(),
    finishedAt: new Date(start + offset * 1000).toISOString(),
    phases,
    objectives: {
      rto: {
        targetSeconds: rtoTarget,
        actualSeconds: restored ? offset : null,
        met: restored && rtoTarget !== null ? offset <= rtoTarget : null,
      },
      rpo: {
        targetSeconds: rpoTarget,
        actualSeconds: rpoActual,
        met: rpoTarget === null ? null : rpoActual <= rpoTarget,
        basis: 'marker',
      },
    },
    checks:
      status === 'passed'
        ? [
            { name: 'row count', status: 'passed', expected: 1200, actual: 1200, table: 'public.orders' },
            { name: 'checksum', status: 'passed', expected: '9f2c', actual: '9f2c', table: 'public.orders' },
          ]
        : base.checks,
  };
}

/**
 * Writes the runs of several drills into a report directory with {@link writeReport}, in time order (the
 * ledger order), each file named by its finish time. Returns the `.report.json` file names, oldest first.
 *
 * @example
 * await writeReportDirectory(dir, key, [{ name: 'orders', runs: [{ at: '2026-01-15T03:00:00Z', restoreSeconds: 120 }] }]);
 */
export async function writeReportDirectory(
  dir: string,
  key: SigningKey,
  drills: readonly PastDrill[],
): Promise<string[]> {
  const all = drills.flatMap((drill) => drill.runs.map((run) => pastReport(drill, run)));
  all.sort((a, b) => a.startedAt.localeCompare(b.startedAt));
  const names: string[] = [];
  for (const report of all) {
    const { jsonPath } = await writeReport({ report, reportDir: dir, key, now: new Date(report.finishedAt) });
    names.push(basename(jsonPath));
  }
  return names;
}

/**
 * Monthly runs from `firstMonth` (`YYYY-MM`), one on the 15th at 03:00 UTC, with the given restore seconds.
 *
 * @example
 * monthlyRuns('2026-01', [120, 130, null, 150]); // four runs, the third failed
 */
export function monthlyRuns(firstMonth: string, restoreSeconds: readonly (number | null)[]): PastRun[] {
  const [year, month] = firstMonth.split('-').map(Number) as [number, number];
  return restoreSeconds.map((seconds, i) => ({
    at: new Date(Date.UTC(year, month - 1 + i, 15, 3)).toISOString(),
    restoreSeconds: seconds,
  }));
}
