import { isBarman, isBaseBackup, isPgBackRest, type RecoveryTarget } from '../../model/physical-backup.ts';
import type { Restorable } from '../../model/recovery-point.ts';
import { barmanMethod } from './barman-lay-down.ts';
import { baseBackupMethod } from './base-backup-lay-down.ts';
import type { PhysicalMethod } from './physical-cluster.ts';
import { pgBackRestMethod } from './pgbackrest-lay-down.ts';

/**
 * The physical restore method for a restorable, with its target; null for anything that is not a physical
 * backup (a `pg_dump` archive goes to `pg_restore`). A new physical source adds its method here.
 *
 * @example
 * const physical = physicalMethodFor(restorable);
 * if (physical) await restorePhysical(cluster, physical.method, physical.target, options);
 */
export function physicalMethodFor(
  restorable: Restorable,
): { readonly method: PhysicalMethod; readonly target: RecoveryTarget; readonly database: string } | null {
  if (isBaseBackup(restorable))
    return { method: baseBackupMethod(restorable), target: restorable.target, database: restorable.database };
  if (isPgBackRest(restorable))
    return { method: pgBackRestMethod(restorable), target: restorable.target, database: restorable.database };
  if (isBarman(restorable))
    return { method: barmanMethod(restorable), target: restorable.target, database: restorable.database };
  return null;
}
