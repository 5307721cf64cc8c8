import type { CheckResult, NotVerified } from '../model/report.ts';
import type { RunState } from './run-state.ts';

/** What a phase may set beside checks: the facts later phases and the report build on. */
export type PhaseFacts = Partial<
  Pick<RunState, 'point' | 'restorable' | 'env' | 'dataTime' | 'verification' | 'bodyStarted'>
>;

/** What one phase recorded, frozen when the phase ended. */
export interface PhaseRecord {
  readonly checks: readonly CheckResult[];
  readonly notVerified: readonly NotVerified[];
  readonly algorithms: readonly string[];
  readonly facts: PhaseFacts;
}

/**
 * Where one phase records what it finds as it goes, so that a phase that fails or is interrupted half-way
 * still contributes what it found before. Each phase gets its own recorder; it is sealed when the phase
 * ends, and what abandoned work (an interrupted comparison still running) records afterwards is dropped,
 * so the report holds exactly what was found while the phase ran.
 *
 * @example
 * const recorder = new PhaseRecorder();
 * recorder.check({ name: 'restore completed', status: 'passed', expected: true, actual: true });
 * const { checks } = recorder.seal();
 */
export class PhaseRecorder {
  #sealed: PhaseRecord | undefined;
  readonly #checks: CheckResult[] = [];
  readonly #notVerified: NotVerified[] = [];
  #facts: PhaseFacts = {};
  /** Checksum algorithms: handed to the comparisons, which add the ones they use. */
  readonly algorithms = new Set<string>();

  check(...checks: readonly CheckResult[]): void {
    if (!this.#sealed) this.#checks.push(...checks);
  }

  notVerified(...entries: readonly NotVerified[]): void {
    if (!this.#sealed) this.#notVerified.push(...entries);
  }

  found(facts: PhaseFacts): void {
    if (!this.#sealed) this.#facts = { ...this.#facts, ...facts };
  }

  /** Ends recording; later calls record nothing. Returns the same record every time. */
  seal(): PhaseRecord {
    this.#sealed ??= Object.freeze({
      checks: [...this.#checks],
      notVerified: [...this.#notVerified],
      algorithms: [...this.algorithms],
      facts: { ...this.#facts },
    });
    return this.#sealed;
  }
}
