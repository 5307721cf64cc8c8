import { InterruptedError } from '../errors.ts';
import { buildReport } from './build-report.ts';
import { describeError } from './describe-error.ts';
import type { DrillResult, DrillRun } from './drill-run.ts';
import { PhaseClock } from './phase-clock.ts';
import { PhaseRunner } from './phase-runner.ts';
import { locate, needsThaw } from './phases/locate.ts';
import { provision } from './phases/provision.ts';
import { report } from './phases/report.ts';
import { restore, startEarlyComparison, tolerateIncompleteRestore } from './phases/restore.ts';
import { teardown } from './phases/teardown.ts';
import { thaw } from './phases/thaw.ts';
import { verify } from './phases/verify.ts';
import { prepareRun, type DrillSetup } from './run-setup.ts';
import { INITIAL_STATE, type RunState } from './run-state.ts';
import { sandboxCheck } from './sandbox-check.ts';
import { withTimeLimit, type AppliedTimeLimit } from './time-limit.ts';

export type { DrillBody, DrillContext } from './drill-body.ts';
export type { DrillProgressEvent, DrillResult, DrillRun } from './drill-run.ts';
export { describeError } from './describe-error.ts';
export { defaultKeyDir, type DrillSettings } from './drill-settings.ts';

/**
 * Runs one drill: `locate` → (`thaw`, for a point in cold storage) → `provision` → `restore` → `verify` →
 * `report` → `teardown` (always).
 * Every run that got past option validation writes a signed report, whatever happened.
 * Throws only `ConfigError` for invalid options (nothing has started then).
 *
 * @example
 * const result = await runDrill({ name: 'shop', source: fileSource('backups/'), objectives: { rto: '8h' } });
 * if (result.status !== 'passed') console.error(result.failedChecks);
 */
export async function runDrill(run: DrillRun): Promise<DrillResult> {
  return withTimeLimit(run, runWithin);
}

async function runWithin(run: DrillRun, limit: AppliedTimeLimit): Promise<DrillResult> {
  const setup = await prepareRun(run);
  const clock = new PhaseClock(run.signal);
  const state = await runPhases(setup, new PhaseRunner(clock, setup.progress)).catch(async (error: unknown) => {
    await teardown(setup, undefined);
    throw error;
  });
  try {
    if (state.failure) setup.log(`${state.failure.phase}: ${describeError(state.failure.error)}`);
    // After a failed restore too: code in the backup that the sandbox blocked is often why it failed.
    const sandbox = state.env ? await sandboxCheck(state.env, state.failure === undefined) : null;
    const built = buildReport({
      runId: setup.runId,
      drill: { name: run.name, file: run.file ?? null },
      controls: run.controls ?? [],
      cadence: setup.cadence,
      restore: run.restore !== false,
      hasBody: run.body !== undefined,
      targets: setup.targets,
      startedAt: setup.startedAt,
      finishedAt: new Date(),
      phases: clock.phases(),
      rtoSeconds: clock.rtoSeconds(),
      environmentKind: setup.environment.kind,
      state,
      sandbox,
      environmentChecks: (await state.env?.checks?.()) ?? [],
      timeLimit: { seconds: limit.seconds, basis: limit.basis },
    });
    const result = await report(setup, built);
    const error = state.failure?.error;
    return error instanceof InterruptedError && error.signal ? { ...result, interruptedBy: error.signal } : result;
  } finally {
    await teardown(setup, state.env);
  }
}

/**
 * The phases up to `verify`, each over the state the one before it left. After a failed phase the rest
 * are passed over (the state carries the failure); a policy-only drill stops after `locate`.
 *
 * A new phase is one more `runner.advance(state, name, work)` line here, with its work in `phases/` and its
 * name in `PhaseName` (and on the RTO clock in `phase-clock.ts` when it counts toward the RTO).
 */
async function runPhases(setup: DrillSetup, runner: PhaseRunner): Promise<RunState> {
  const located = await runner.advance(INITIAL_STATE, 'locate', (_, recorder) => locate(setup, recorder));
  // A policy-only drill stops here: the recovery points were listed and checked, nothing is restored.
  if (setup.run.restore === false) return located;
  // A recovery point in cold storage is thawed (and then fetched) in a phase of its own, on the RTO clock.
  const readable =
    located.point && !located.failure && needsThaw(setup, located.point)
      ? await runner.advance(located, 'thaw', (state, recorder) => thaw(setup, state, recorder))
      : located;
  const started = await runner.advance(readable, 'provision', (state, recorder) => provision(setup, state, recorder));
  // The manifest is known before the restore: with verifyDuringRestore, each of its tables is compared as
  // soon as it is loaded. Closed after `verify`, also when a phase failed.
  await using early = startEarlyComparison(setup, started);
  const restored = await runner.advance(
    started,
    'restore',
    (state, recorder, continueAs) => restore(setup, state, recorder, early, continueAs),
    tolerateIncompleteRestore,
  );
  return await runner.advance(restored, 'verify', (state, recorder) => verify(setup, state, recorder, early));
}
