import { ConfigError } from '../errors.ts';
import { describeTarget, type RecoveryTarget } from '../model/physical-backup.ts';
import type { RecoveryPoint } from '../model/recovery-point.ts';

/**
 * The backups a physical source can replay to `target` from, newest first: for a time, those that were
 * consistent by then; for any other target, all. A time before every backup is a configuration error naming
 * the oldest one (`of`: which backups, `since`: what its time means), never an empty list.
 *
 * @example
 * return backupsReaching(points, target, { of: `backup of stanza "${stanza}"`, since: 'consistent from' });
 */
export function backupsReaching(
  points: readonly RecoveryPoint[],
  target: RecoveryTarget,
  oldest: { readonly of: string; readonly since: string },
): RecoveryPoint[] {
  const reachable =
    target.type === 'time' ? points.filter((p) => p.createdAt.getTime() <= target.time.getTime()) : [...points];
  if (points.length > 0 && reachable.length === 0) {
    const first = points.reduce((a, b) => (a.createdAt < b.createdAt ? a : b));
    throw new ConfigError(
      `the target ${describeTarget(target)} is before the oldest ${oldest.of} (${oldest.since} ${first.createdAt.toISOString()})`,
      'choose a target after the oldest backup, or keep older backups',
    );
  }
  return reachable.sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime());
}
