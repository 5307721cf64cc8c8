import { describeTarget, physicalTarget } from '../../model/physical-backup.ts';
import type { RecoveryPoint } from '../../model/recovery-point.ts';
import type { PhaseRecorder } from '../phase-recorder.ts';
import { pickedTarget, pickRecoveryPoint, pickStartingBackup, withPickedMoment } from '../pick-recovery-point.ts';
import type { DrillSetup } from '../run-setup.ts';

/**
 * `locate`: the source lists its recovery points, the drill's policies check them (their checks are
 * recorded even when no point can be picked), one is picked and, unless the drill only checks policies or
 * the point must be thawed first (that is the `thaw` phase's), fetched.
 */
export async function locate(setup: DrillSetup, recorder: PhaseRecorder): Promise<void> {
  const { run, log, sourceContext, startedAt } = setup;
  // A point-in-time source is described with the moment the drill's pick asks for, not its own target.
  const where = run.source.describe(run.source.pointInTime ? pickedTarget(run.pick, startedAt) : undefined);
  log(`locate: listing recovery points from ${where}`);
  const points = await run.source.list(sourceContext);
  for (const policy of run.policies ?? []) {
    recorder.check(...(await policy.evaluate({ points, now: startedAt, source: run.source, sourceContext })));
  }
  const point = run.source.pointInTime
    ? pickStartingBackup(points, run.pick, where, startedAt)
    : pickRecoveryPoint(points, run.pick, where);
  recorder.found({ point });
  log(`locate: picked ${point.id} (created ${point.createdAt.toISOString()})`);
  if (run.restore === false || needsThaw(setup, point)) return;
  await fetchRecoveryPoint(setup, point, recorder);
}

/** Whether the picked point is in cold storage and must go through the `thaw` phase before it can be fetched. */
export function needsThaw(setup: DrillSetup, point: RecoveryPoint): boolean {
  return Boolean(setup.run.source.thaw?.(point));
}

/** Fetches the picked point and records it, with what the source checked while fetching (a copy's key access). */
export async function fetchRecoveryPoint(
  setup: DrillSetup,
  point: RecoveryPoint,
  recorder: PhaseRecorder,
): Promise<void> {
  const restorable = withPickedMoment(
    await setup.run.source.fetch(point, setup.sourceContext),
    setup.run.pick,
    setup.startedAt,
  );
  recorder.found({ restorable });
  // The source listed its point with its own target; the one the pick set is what is restored and reported.
  const picked = physicalTarget(restorable);
  if (picked && typeof point.facts.target === 'string' && point.facts.target !== describeTarget(picked))
    recorder.found({ point: { ...point, facts: { ...point.facts, target: describeTarget(picked) } } });
  if (restorable.checks?.length) recorder.check(...restorable.checks);
}
