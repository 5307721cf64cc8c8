import type { DBClusterSnapshot, DBSnapshot, RDSClient } from '@aws-sdk/client-rds';
import { rdsSdk } from '../../aws/sdk.ts';
import { parseArn } from '../../aws/rds-client.ts';
import { RdsNotFoundError, sendRds } from '../../aws/rds-errors.ts';

/**
 * Why a snapshot listed in `region` is an offsite copy — copied there from another region or account, or
 * shared from another account — or null when it is not one. RDS names a copy's source
 * (`SourceRegion`, `SourceDBSnapshotIdentifier`); when it names none (some copy paths, and emulators), a
 * snapshot counts as a copy only when its data is older than the snapshot itself (`OriginalSnapshotCreateTime`
 * before `SnapshotCreateTime`) and its database does not live in `region` (`databaseHere` false), so a
 * same-region copy of a local snapshot is never taken for an offsite one.
 *
 * @example
 * copyEvidence(snapshot, 'eu-central-1', false); // 'copied from us-east-1'
 */
export function copyEvidence(
  snapshot: DBSnapshot | DBClusterSnapshot,
  region: string,
  databaseHere: boolean,
): string | null {
  const own = parseArn(
    'DBSnapshotArn' in snapshot ? snapshot.DBSnapshotArn : (snapshot as DBClusterSnapshot).DBClusterSnapshotArn,
  );
  if (snapshot.SnapshotType === 'shared') return `shared from account ${own?.account || 'unknown'}`;
  const sourceRegion = 'SourceRegion' in snapshot ? snapshot.SourceRegion : undefined;
  if (sourceRegion && sourceRegion !== region) return `copied from ${sourceRegion}`;
  const sourceId =
    'SourceDBSnapshotIdentifier' in snapshot
      ? snapshot.SourceDBSnapshotIdentifier
      : (snapshot as DBClusterSnapshot).SourceDBClusterSnapshotArn;
  const source = parseArn(sourceId);
  if (source && source.region && source.region !== region)
    return `copied from ${source.region}${source.account && source.account !== own?.account ? ` (account ${source.account})` : ''}`;
  if (source && own && source.account && source.account !== own.account) return `copied from account ${source.account}`;
  if (sourceId || sourceRegion) return null; // RDS names a source in this region and account: a local copy.
  const original = 'OriginalSnapshotCreateTime' in snapshot ? snapshot.OriginalSnapshotCreateTime : undefined;
  if (
    !databaseHere &&
    original &&
    snapshot.SnapshotCreateTime &&
    original.getTime() < snapshot.SnapshotCreateTime.getTime()
  ) {
    return `copy of a snapshot taken ${original.toISOString()} elsewhere (the database does not live in ${region})`;
  }
  return null;
}

/** Whether the DB instance (or Aurora cluster) lives in the client's region: then its local snapshots there are not offsite copies. */
export async function databaseInRegion(
  client: RDSClient,
  which: { dbInstanceIdentifier?: string; dbClusterIdentifier?: string },
  signal?: AbortSignal,
): Promise<boolean> {
  const { DescribeDBClustersCommand, DescribeDBInstancesCommand } = await rdsSdk();
  try {
    if (which.dbInstanceIdentifier) {
      await sendRds(
        client,
        new DescribeDBInstancesCommand({ DBInstanceIdentifier: which.dbInstanceIdentifier }),
        `db-instance ${which.dbInstanceIdentifier}`,
        signal,
      );
    } else {
      await sendRds(
        client,
        new DescribeDBClustersCommand({ DBClusterIdentifier: which.dbClusterIdentifier }),
        `db-cluster ${which.dbClusterIdentifier}`,
        signal,
      );
    }
    return true;
  } catch (error) {
    if (error instanceof RdsNotFoundError) return false;
    throw error;
  }
}
