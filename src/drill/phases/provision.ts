import type { PhaseRecorder } from '../phase-recorder.ts';
import type { DrillSetup } from '../run-setup.ts';
import type { RunState } from '../run-state.ts';

/** `provision`: the environment starts a disposable database, labelled with the run id. */
export async function provision(setup: DrillSetup, state: RunState, recorder: PhaseRecorder): Promise<void> {
  const { run, runId, log, environment, instanceLimit } = setup;
  const env = await environment.start({
    runId,
    drillName: run.name,
    signal: run.signal,
    log,
    recoveryPoint: state.point,
    restorable: state.restorable,
    ...(instanceLimit ? { instanceLimit } : {}),
  });
  recorder.found({ env });
}
