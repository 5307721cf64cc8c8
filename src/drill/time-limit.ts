import { ConfigError } from '../errors.ts';
import { parseDuration } from '../util/duration.ts';
import type { DrillRun } from './drill-run.ts';

/** The longest delay a Node timer keeps (about 24.8 days); a longer one would fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Runs `work` with the drill's signal also aborting when its `timeLimit` has passed, so code in a backup that
 * sleeps or loops (a CHECK constraint calling `pg_sleep`) ends the drill with its signed `error` report instead
 * of holding it forever. Without a `timeLimit`, `work` gets the run unchanged.
 *
 * @example
 * await withTimeLimit({ ...run, timeLimit: '2h' }, (limited) => runPhases(limited));
 */
export async function withTimeLimit<T>(run: DrillRun, work: (run: DrillRun) => Promise<T>): Promise<T> {
  if (run.timeLimit === undefined) return work(run);
  const seconds = parseDuration(run.timeLimit, `time limit of drill "${run.name}"`);
  if (seconds <= 0 || seconds * 1000 > MAX_TIMER_MS) {
    throw new ConfigError(
      `bad time limit of drill "${run.name}": ${run.timeLimit}`,
      'give a duration above zero and at most 24d, e.g. 2h',
    );
  }
  const controller = new AbortController();
  const shown = typeof run.timeLimit === 'number' ? `${run.timeLimit}s` : run.timeLimit;
  const timer = setTimeout(
    () =>
      controller.abort(
        new Error(`the drill reached its time limit of ${shown} (code in the backup may sleep or loop)`),
      ),
    seconds * 1000,
  );
  try {
    const signal = run.signal ? AbortSignal.any([run.signal, controller.signal]) : controller.signal;
    return await work({ ...run, signal });
  } finally {
    clearTimeout(timer);
  }
}
