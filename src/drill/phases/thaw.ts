import type { PhaseRecorder } from '../phase-recorder.ts';
import type { DrillSetup } from '../run-setup.ts';
import type { RunState } from '../run-state.ts';
import { fetchRecoveryPoint } from './locate.ts';

/**
 * `thaw`: a recovery point in cold storage (S3 Glacier Flexible Retrieval, Deep Archive) is made readable —
 * restore requested, waited for under the drill's timeout, or resumed where an earlier run left it — and then
 * fetched. A phase of its own on the RTO clock, so an auditor sees what restoring from cold storage takes.
 */
export async function thaw(setup: DrillSetup, state: RunState, recorder: PhaseRecorder): Promise<void> {
  const point = state.point;
  if (!point) throw new Error('thaw: no recovery point was located');
  const work = setup.run.source.thaw?.(point);
  if (work) {
    setup.log(`thaw: making ${point.id} readable`);
    recorder.check(...(await work(setup.sourceContext)));
  }
  await fetchRecoveryPoint(setup, point, recorder);
}
