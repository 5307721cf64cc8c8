import type { PhaseRecorder } from '../phase-recorder.ts';
import { pickRecoveryPoint, pickStartingBackup, withPickedMoment } from '../pick-recovery-point.ts';
import type { DrillSetup } from '../run-setup.ts';

/**
 * `locate`: the source lists its recovery points, the drill's policies check them (their checks are
 * recorded even when no point can be picked), one is picked and, unless the drill only checks policies,
 * fetched.
 */
export async function locate(setup: DrillSetup, recorder: PhaseRecorder): Promise<void> {
  const { run, log, sourceContext, startedAt } = setup;
  log(`locate: listing recovery points from ${run.source.describe()}`);
  const points = await run.source.list(sourceContext);
  for (const policy of run.policies ?? []) {
    recorder.check(...(await policy.evaluate({ points, now: startedAt, source: run.source, sourceContext })));
  }
  const point = run.source.pointInTime
    ? pickStartingBackup(points, run.pick, run.source.describe(), startedAt)
    : pickRecoveryPoint(points, run.pick, run.source.describe());
  recorder.found({ point });
  log(`locate: picked ${point.id} (created ${point.createdAt.toISOString()})`);
  if (run.restore === false) return;
  const restorable = withPickedMoment(await run.source.fetch(point, sourceContext), run.pick, startedAt);
  recorder.found({ restorable });
  // What the source checked while fetching (a copy's key access, an archive's thaw) is evidence too.
  if (restorable.checks?.length) recorder.check(...restorable.checks);
}
