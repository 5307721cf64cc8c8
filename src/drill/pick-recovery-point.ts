import { randomInt } from 'node:crypto';
import { ConfigError } from '../errors.ts';
import { formatDuration, parseDuration } from '../util/duration.ts';
import type { PickStrategy } from '../sources/source.ts';
import type { RecoveryPoint, Restorable } from '../model/recovery-point.ts';
import { physicalTarget, type RecoveryTarget } from '../model/physical-backup.ts';

/**
 * Picks the recovery point to restore: the latest by default, the one nearest a target time, or a random
 * one created within a window before `now`. An empty list (or window) is a ConfigError: there is nothing
 * to prove restorable.
 */
export function pickRecoveryPoint(
  points: readonly RecoveryPoint[],
  pick: PickStrategy = { strategy: 'latest' },
  where = 'the source',
  now = new Date(),
): RecoveryPoint {
  const byTime = [...pickablePoints(points, where)].sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime());
  // The newest marker is after the newest backup, or no backup would need one to restore to it.
  if (pick.strategy === 'latest' || pick.strategy === 'marker') return byTime[0]!;
  if (pick.strategy === 'random') {
    const windowSeconds = parseDuration(pick.within, 'random pick window');
    const inside = byTime.filter(
      (p) => p.createdAt.getTime() >= now.getTime() - windowSeconds * 1000 && p.createdAt.getTime() <= now.getTime(),
    );
    if (inside.length === 0) {
      throw new ConfigError(
        `no recovery points created within the last ${formatDuration(windowSeconds)} in ${where}`,
        'widen `within`, or check that backups are still being taken',
      );
    }
    return inside[randomInt(inside.length)]!;
  }
  const target = pick.target.getTime();
  return byTime.reduce((best, p) =>
    Math.abs(p.createdAt.getTime() - target) < Math.abs(best.createdAt.getTime() - target) ? p : best,
  );
}

/**
 * The restorable with the moment `pick` asks for, where it asks for one: `marker` sets a physical backup's
 * target to the newest marker's own position; for anything else it is a ConfigError (a dump or a snapshot is
 * one moment already).
 *
 * @example
 * const restorable = withPickedMoment(await source.fetch(point, context), { strategy: 'marker' });
 */
export function withPickedMoment<R extends Restorable>(
  restorable: R,
  pick: PickStrategy | undefined,
  now = new Date(),
): R {
  if (!pick || pick.strategy === 'latest') return restorable;
  if (!physicalTarget(restorable)) {
    if (pick.strategy !== 'marker') return restorable; // a dump or a snapshot: the pick chose the recovery point
    throw new ConfigError(
      `pick { strategy: 'marker' } restores to a marker's own position in the WAL, but this source's recovery points are ${restorable.kind} copies, each one moment already`,
      "use a physical source (baseBackupSource, pgBackRestSource, barmanSource), or pick 'latest'",
    );
  }
  return { ...restorable, target: pickedTarget(pick, now) };
}

/**
 * The moment a pick asks a physical source to restore to, replacing the source's own target; undefined for
 * `latest` (the source's own target stands).
 *
 * @example
 * pickedTarget({ strategy: 'nearest', target }); // { type: 'time', time: target }
 */
export function pickedTarget(pick: PickStrategy | undefined, now = new Date()): RecoveryTarget | undefined {
  if (!pick || pick.strategy === 'latest') return undefined;
  if (pick.strategy === 'marker') return { type: 'marker' };
  if (pick.strategy === 'nearest') return { type: 'time', time: pick.target };
  return { type: 'random', from: new Date(now.getTime() - parseDuration(pick.within, 'random pick window') * 1000) };
}

/**
 * For a physical source, the backup a picked moment is restored from: the newest one started before it
 * (`nearest`), the newest one started before the window (`random`: every moment of the window reachable),
 * else the oldest; the latest for `latest` and `marker`. A moment before every backup is a ConfigError.
 *
 * @example
 * const point = pickStartingBackup(points, { strategy: 'nearest', target }, 'stanza shop');
 */
export function pickStartingBackup(
  points: readonly RecoveryPoint[],
  pick: PickStrategy = { strategy: 'latest' },
  where = 'the source',
  now = new Date(),
): RecoveryPoint {
  if (pick.strategy !== 'nearest' && pick.strategy !== 'random') return pickRecoveryPoint(points, pick, where, now);
  const moment =
    pick.strategy === 'nearest'
      ? pick.target
      : new Date(now.getTime() - parseDuration(pick.within, 'random pick window') * 1000);
  const byTime = [...pickablePoints(points, where)].sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime());
  const before = byTime.find((p) => p.createdAt.getTime() <= moment.getTime());
  if (before) return before;
  if (pick.strategy === 'random') return byTime.at(-1)!;
  throw new ConfigError(
    `the target ${moment.toISOString()} is before the oldest backup in ${where} (${byTime.at(-1)!.createdAt.toISOString()})`,
    'choose a target after the oldest backup, or keep older backups',
  );
}

function pickablePoints(points: readonly RecoveryPoint[], where: string): readonly RecoveryPoint[] {
  if (points.length === 0) {
    throw new ConfigError(
      `no recovery points found in ${where}`,
      'check the location, or take a backup first (restore-drill dump)',
    );
  }
  return points;
}

/**
 * Parses the command line's `--pick`: `latest`, `nearest:TIME` (an ISO 8601 time) or `random:WINDOW`
 * (a duration such as `7d`). Anything else is a ConfigError naming the accepted forms.
 *
 * @example
 * parsePick('nearest:2026-11-30T03:00:00Z'); // { strategy: 'nearest', target: new Date('2026-11-30T03:00:00Z') }
 */
export function parsePick(text: string): PickStrategy {
  const hint = 'use latest, nearest:TIME (e.g. nearest:2026-11-30T03:00:00Z) or random:WINDOW (e.g. random:7d)';
  const [strategy, ...rest] = text.trim().split(':');
  const argument = rest.join(':');
  if (strategy === 'latest' && !argument) return { strategy: 'latest' };
  if (strategy === 'nearest' && argument) {
    const target = new Date(argument);
    if (!/^\d{4}-\d{2}-\d{2}/.test(argument) || Number.isNaN(target.getTime()))
      throw new ConfigError(`--pick nearest: "${argument}" is not an ISO 8601 time`, hint);
    return { strategy: 'nearest', target };
  }
  if (strategy === 'random' && argument) {
    parseDuration(argument, '--pick random window');
    return { strategy: 'random', within: argument };
  }
  throw new ConfigError(`bad --pick "${text}"`, hint);
}
