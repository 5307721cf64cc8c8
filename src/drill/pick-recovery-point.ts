import { randomInt } from 'node:crypto';
import { ConfigError } from '../errors.ts';
import { formatDuration, parseDuration } from '../util/duration.ts';
import type { PickStrategy } from '../sources/source.ts';
import type { RecoveryPoint } from '../model/recovery-point.ts';

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
  if (points.length === 0) {
    throw new ConfigError(
      `no recovery points found in ${where}`,
      'check the location, or take a backup first (restore-drill dump)',
    );
  }
  const byTime = [...points].sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime());
  if (pick.strategy === 'latest') return byTime[0]!;
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
