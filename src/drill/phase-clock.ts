import { performance } from 'node:perf_hooks';
import { InterruptedError } from '../errors.ts';
import type { PhaseName, PhaseTiming } from '../model/report.ts';

/**
 * Phases on the RTO clock: it runs from the start of `locate` to the end of `verify`. A cold-archive thaw
 * counts: restoring from cold storage takes that long.
 */
const RTO_PHASES: readonly PhaseName[] = ['locate', 'thaw', 'provision', 'restore', 'replay', 'verify'];

/**
 * Times each phase of a drill run on a monotonic clock and remembers which phase was running when
 * something failed or the run was interrupted.
 */
export class PhaseClock {
  private readonly timings: PhaseTiming[] = [];
  private rtoStart: number | null = null;
  private rtoEnd: number | null = null;
  /** The phase running now, or the last one that ran. */
  current: PhaseName | null = null;

  constructor(private readonly signal?: AbortSignal) {}

  /**
   * Runs `work` as phase `name`. If the signal aborts, the phase ends at once with an InterruptedError. The
   * work may call `continueAs(next)` to end its phase there and time the rest as phase `next` (a restore's
   * WAL replay): a failure after that is the later phase's.
   */
  async run<T>(name: PhaseName, work: (continueAs: (next: PhaseName) => void) => Promise<T>): Promise<T> {
    let segment = { name, startedAt: new Date().toISOString(), start: performance.now() };
    this.current = name;
    if (RTO_PHASES.includes(name) && this.rtoStart === null) this.rtoStart = segment.start;
    const finish = (status: PhaseTiming['status']) => {
      const end = performance.now();
      const { name: timed, startedAt, start } = segment;
      this.timings.push({ name: timed, startedAt, seconds: round((end - start) / 1000), status });
      if (RTO_PHASES.includes(timed)) this.rtoEnd = end;
    };
    const continueAs = (next: PhaseName) => {
      finish('ok');
      segment = { name: next, startedAt: new Date().toISOString(), start: performance.now() };
      this.current = next;
    };
    try {
      const result = await raceAbort(work(continueAs), this.signal);
      finish('ok');
      return result;
    } catch (error) {
      finish(error instanceof InterruptedError ? 'interrupted' : 'failed');
      throw error;
    }
  }

  /** Every phase timed so far, in order. */
  phases(): PhaseTiming[] {
    return [...this.timings];
  }

  /** Seconds from the start of `locate` to the end of `verify`, or null if `verify` did not finish. */
  rtoSeconds(): number | null {
    const verified = this.timings.some((t) => t.name === 'verify' && t.status === 'ok');
    if (!verified || this.rtoStart === null || this.rtoEnd === null) return null;
    return round((this.rtoEnd - this.rtoStart) / 1000);
  }
}

function round(seconds: number): number {
  return Math.round(seconds * 1000) / 1000;
}

function raceAbort<T>(work: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return work;
  if (signal.aborted) return Promise.reject(new InterruptedError(signal.reason));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new InterruptedError(signal.reason));
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        // The work's own rejection, passed on unchanged (whatever it is, the caller reports it).
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
        reject(error);
      },
    );
  });
}
