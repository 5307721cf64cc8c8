import { ConfigError } from '../errors.ts';
import type { TimeLimit } from '../model/report.ts';
import { formatDuration, parseDuration } from '../util/duration.ts';
import type { DrillRun } from './drill-run.ts';

/** The longest delay a Node timer keeps (about 24.8 days); a longer one would fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** A drill's time limit as applied: the report's {@link TimeLimit}, and as written for messages. */
export interface AppliedTimeLimit extends TimeLimit {
  /** `6h`, `90s`, or the derived limit formatted (`8h 00m`). */
  readonly shown: string;
}

/** Without a `timeLimit` or an RTO: long enough for a large restore, short of a day-long CI hang. */
export const DEFAULT_TIME_LIMIT = '6h';
/** Without a `timeLimit`, a drill with an RTO gets this many times it (at least {@link RTO_LIMIT_FLOOR}). */
const RTO_FACTOR = 2;
/** An RTO of minutes is missed on a slow runner without the backup being hostile: its limit is never below this. */
const RTO_LIMIT_FLOOR = '1h';

/**
 * The time limit a drill runs under, and where it came from: its `timeLimit` (`check --time-limit`) when set;
 * else twice its RTO, at least 1h (past twice the RTO the objective is missed anyway, and code in the backup
 * may be holding the restore); else 6h. Always a limit, so a backup that sleeps forever cannot hold a run
 * until a CI job's own timeout. A ConfigError for a bad duration, before anything runs.
 *
 * @example
 * timeLimitOf({ name: 'shop', objectives: { rto: '4h' } }); // { seconds: 28800, basis: 'rto', shown: '8h 00m' }
 * timeLimitOf({ name: 'shop' }); // { seconds: 21600, basis: 'default', shown: '6h' }
 */
export function timeLimitOf(run: Pick<DrillRun, 'name' | 'timeLimit' | 'objectives'>): AppliedTimeLimit {
  let limit: AppliedTimeLimit;
  if (run.timeLimit !== undefined) {
    const seconds = parseDuration(run.timeLimit, `time limit of drill "${run.name}"`);
    limit = {
      seconds,
      basis: 'timeLimit',
      shown: typeof run.timeLimit === 'number' ? `${run.timeLimit}s` : run.timeLimit,
    };
  } else if (run.objectives?.rto !== undefined) {
    const derived = parseDuration(run.objectives.rto, 'RTO') * RTO_FACTOR;
    const seconds = Math.min(Math.max(derived, parseDuration(RTO_LIMIT_FLOOR)), MAX_TIMER_MS / 1000);
    limit = { seconds, basis: 'rto', shown: formatDuration(seconds) };
  } else {
    limit = { seconds: parseDuration(DEFAULT_TIME_LIMIT), basis: 'default', shown: DEFAULT_TIME_LIMIT };
  }
  if (limit.seconds <= 0 || limit.seconds * 1000 > MAX_TIMER_MS) {
    throw new ConfigError(
      `bad time limit of drill "${run.name}": ${limit.shown}`,
      'give a duration above zero and at most 24d, e.g. 2h',
    );
  }
  return limit;
}

const WHY: Record<AppliedTimeLimit['basis'], string> = {
  timeLimit: 'its timeLimit',
  rto: 'twice its RTO, at least 1h; set timeLimit to change it',
  default: 'the default without a timeLimit or an RTO; set timeLimit to change it',
};

/**
 * Runs `work` with the drill's signal also aborting when its time limit ({@link timeLimitOf}) has passed, so
 * code in a backup that sleeps or loops (a CHECK constraint calling `pg_sleep`) ends the drill with its signed
 * `error` report instead of holding it forever. `work` also gets the limit, for the report.
 *
 * @example
 * await withTimeLimit({ ...run, timeLimit: '2h' }, (limited, limit) => runPhases(limited, limit));
 */
export async function withTimeLimit<T>(
  run: DrillRun,
  work: (run: DrillRun, limit: AppliedTimeLimit) => Promise<T>,
): Promise<T> {
  const limit = timeLimitOf(run);
  const controller = new AbortController();
  const timer = setTimeout(
    () =>
      controller.abort(
        new Error(
          `the drill reached its time limit of ${limit.shown} (${WHY[limit.basis]}): code in the backup may sleep or loop`,
        ),
      ),
    limit.seconds * 1000,
  );
  try {
    const signal = run.signal ? AbortSignal.any([run.signal, controller.signal]) : controller.signal;
    return await work({ ...run, signal }, limit);
  } finally {
    clearTimeout(timer);
  }
}
