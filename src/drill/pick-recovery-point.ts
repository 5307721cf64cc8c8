import { ConfigError } from '../errors.ts';
import type { PickStrategy, RecoveryPoint } from '../sources/source.ts';

/**
 * Picks the recovery point to restore: the latest by default, or the one nearest a target time.
 * An empty list is a ConfigError: there is nothing to prove restorable.
 */
export function pickRecoveryPoint(points: readonly RecoveryPoint[], pick: PickStrategy = { strategy: 'latest' }, where = 'the source'): RecoveryPoint {
  if (points.length === 0) {
    throw new ConfigError(`no recovery points found in ${where}`, 'check the location, or take a backup first (restore-drill dump)');
  }
  const byTime = [...points].sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime());
  if (pick.strategy === 'latest') return byTime[0]!;
  const target = pick.target.getTime();
  return byTime.reduce((best, p) => (Math.abs(p.createdAt.getTime() - target) < Math.abs(best.createdAt.getTime() - target) ? p : best));
}
