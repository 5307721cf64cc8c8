import { RestoreIncompleteError } from '../../postgres/restore-errors.ts';
import type { PhaseName } from '../../model/report.ts';
import type { Comparison } from '../../verify/compare.ts';
import { startComparison } from '../../verify/compare.ts';
import type { PhaseRecorder } from '../phase-recorder.ts';
import type { Tolerate } from '../phase-runner.ts';
import { restoreCompletedCheck } from '../restore-checks.ts';
import type { DrillSetup } from '../run-setup.ts';
import { provisioned, type RunState } from '../run-state.ts';

/** A comparison of the manifest's tables that runs while the restore loads them (`verifyDuringRestore`). */
export interface EarlyComparison extends AsyncDisposable {
  readonly comparison: Comparison;
  /** The checksum algorithms it used, for the report. */
  readonly algorithms: ReadonlySet<string>;
}

/**
 * With `verifyDuringRestore` and a manifest known before the restore, a comparison that starts each of its
 * tables as soon as it is loaded; otherwise undefined. It spans `restore` and `verify`: close it after both.
 */
export function startEarlyComparison(setup: DrillSetup, state: RunState): EarlyComparison | undefined {
  const { restorable, env } = state;
  // Under a verification budget the plan needs the restored data first (its speed, the rotation): no early start.
  if (!restorable?.manifest || !setup.run.verifyDuringRestore || setup.verifyBudget || !env) return undefined;
  const algorithms = new Set<string>();
  const comparison = startComparison(() => env.connectionConfig(), restorable.manifest, {
    label: 'manifest',
    algorithms,
  });
  return { comparison, algorithms, [Symbol.asyncDispose]: () => comparison[Symbol.asyncDispose]() };
}

/** `restore`: `pg_restore` (or the environment's own restore) of the fetched recovery point. */
export async function restore(
  setup: DrillSetup,
  state: RunState,
  recorder: PhaseRecorder,
  early: EarlyComparison | undefined,
  continueAs: (next: PhaseName) => void = () => {},
): Promise<void> {
  const { run, log, progress } = setup;
  const { env, restorable } = provisioned(state);
  await env.restore(restorable, {
    jobs: run.jobs,
    signal: run.signal,
    log,
    progress: (done, total) => progress({ phase: 'restore', done, total }),
    onTableRestored: early?.comparison.tableRestored,
    onRestoreWorkers: early?.comparison.restoreWorkers,
    // A physical restore's WAL replay is timed as a phase of its own.
    onReplayStart: () => {
      continueAs('replay');
      progress({ phase: 'replay' });
    },
  });
  recorder.check(restoreCompletedCheck());
}

/**
 * pg_restore read the whole archive and restored what it could: the phase counts as failed but the run goes
 * on, so the report shows what came back and what did not; `restore completed` fails with the errors.
 */
export const tolerateIncompleteRestore: Tolerate = (error) =>
  error instanceof RestoreIncompleteError ? restoreCompletedCheck(error) : undefined;
