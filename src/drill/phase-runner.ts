import type { CheckResult, PhaseName } from '../model/report.ts';
import type { DrillProgressEvent } from './drill-run.ts';
import type { PhaseClock } from './phase-clock.ts';
import { PhaseRecorder, type PhaseRecord } from './phase-recorder.ts';
import type { PhaseFailure, RunState } from './run-state.ts';

/** The work of one phase: reads the state so far, records what it finds. */
export type PhaseWork = (
  state: RunState,
  recorder: PhaseRecorder,
  /** Ends this phase here and times the rest of the work as phase `next` (see {@link PhaseClock.run}). */
  continueAs: (next: PhaseName) => void,
) => Promise<void> | void;

/**
 * An error after which the phase still counts as done (it is timed as failed, its check recorded), e.g.
 * a restore that loaded what it could: return the check that says so, or undefined for a real failure.
 */
export type Tolerate = (error: unknown) => CheckResult | undefined;

/**
 * Runs phases one after another over immutable {@link RunState}s: each phase is announced, timed by the
 * clock, given its own {@link PhaseRecorder}, and yields the next state. After a failure, later phases do
 * not run: the state is passed on unchanged, carrying the failure.
 *
 * @example
 * const runner = new PhaseRunner(new PhaseClock(signal), () => {});
 * const located = await runner.advance(INITIAL_STATE, 'locate', (state, recorder) => locate(setup, recorder));
 */
export class PhaseRunner {
  constructor(
    private readonly clock: PhaseClock,
    private readonly progress: (event: DrillProgressEvent) => void,
  ) {}

  async advance(state: RunState, name: PhaseName, work: PhaseWork, tolerate?: Tolerate): Promise<RunState> {
    if (state.failure) return state;
    const recorder = new PhaseRecorder();
    this.progress({ phase: name });
    try {
      // Through a promise: a phase that throws before its first await fails like one that rejects.
      await this.clock.run(name, (continueAs) => Promise.resolve().then(() => work(state, recorder, continueAs)));
      return next(state, recorder.seal());
    } catch (error) {
      const record = recorder.seal();
      const tolerated = tolerate?.(error);
      if (tolerated) return next(state, { ...record, checks: [...record.checks, tolerated] });
      // The phase the clock was timing when it failed: a restore that went on as `replay` failed in replay.
      return next(state, record, { phase: this.clock.current ?? name, error });
    }
  }
}

/** The state after a phase: what it recorded added to what was found before. */
function next(state: RunState, record: PhaseRecord, failure?: PhaseFailure): RunState {
  return Object.freeze({
    ...state,
    ...record.facts,
    checks: [...state.checks, ...record.checks],
    notVerified: [...state.notVerified, ...record.notVerified],
    algorithms: [...new Set([...state.algorithms, ...record.algorithms])],
    ...(failure ? { failure } : {}),
  });
}
