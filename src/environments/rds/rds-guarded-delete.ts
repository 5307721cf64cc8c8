import type { RDSClient } from '@aws-sdk/client-rds';
import { rdsSdk } from '../../aws/sdk.ts';
import { RestoreDrillError } from '../../errors.ts';
import { RdsNotFoundError, sendRds } from '../../aws/rds-errors.ts';
import { RDS_OWNER, RDS_TAG, readRdsLabel, type RdsLabel } from './rds-tags.ts';

/** An RDS resource restore-drill may have created. */
export interface RdsTarget {
  readonly type: 'db-instance' | 'db-cluster';
  readonly identifier: string;
}

/** What {@link deleteIfOurs} found. */
export type GuardedDeleteOutcome = 'deleted' | 'already-deleting' | 'gone';

/**
 * Re-reads the resource's tags (ListTagsForResource) and returns its label, or throws when it does not
 * carry restore-drill's tags — or carries another run's id when `runId` is given. Returns null when the
 * resource does not exist. Call it before touching anything.
 *
 * @example
 * await requireOurs(rds, { type: 'db-instance', identifier: 'restore-drill-rd2026…' }, runId);
 */
export async function requireOurs(
  client: RDSClient,
  target: RdsTarget,
  runId?: string,
  signal?: AbortSignal,
): Promise<{ arn: string; status: string; label: RdsLabel } | null> {
  const { ListTagsForResourceCommand } = await rdsSdk();
  const found = await describe(client, target, signal);
  if (!found) return null;
  const { TagList } = await sendRds(
    client,
    new ListTagsForResourceCommand({ ResourceName: found.arn }),
    `${target.type} ${target.identifier}`,
    signal,
  );
  const label = readRdsLabel(TagList);
  if (!label || (runId !== undefined && label.runId !== runId)) {
    const wanted = `${RDS_TAG.owner}=${RDS_OWNER}${runId !== undefined ? ` and ${RDS_TAG.runId}=${runId}` : ''}`;
    throw new RestoreDrillError(
      `refusing to touch RDS ${target.type} ${target.identifier}: it does not carry restore-drill's tags (${wanted})`,
      'restore-drill only modifies and deletes what it created; if this one should go, delete it yourself',
    );
  }
  return { arn: found.arn, status: found.status, label };
}

/**
 * Deletes a temporary instance or cluster without a final snapshot — only after {@link requireOurs}
 * confirmed its tags. Automated backups of the instance go with it. Deleting something already gone or
 * already being deleted is fine (teardown may run twice, cleanup may race a run's own teardown).
 *
 * @example
 * await deleteIfOurs(rds, { type: 'db-instance', identifier }, runId); // 'deleted'
 */
export async function deleteIfOurs(
  client: RDSClient,
  target: RdsTarget,
  runId?: string,
  signal?: AbortSignal,
): Promise<GuardedDeleteOutcome> {
  const { DeleteDBClusterCommand, DeleteDBInstanceCommand } = await rdsSdk();
  const ours = await requireOurs(client, target, runId, signal);
  if (!ours) return 'gone';
  if (ours.status === 'deleting') return 'already-deleting';
  const what = `${target.type} ${target.identifier}`;
  try {
    if (target.type === 'db-instance') {
      await sendRds(
        client,
        new DeleteDBInstanceCommand({
          DBInstanceIdentifier: target.identifier,
          SkipFinalSnapshot: true,
          DeleteAutomatedBackups: true,
        }),
        what,
        signal,
      );
    } else {
      await sendRds(
        client,
        new DeleteDBClusterCommand({ DBClusterIdentifier: target.identifier, SkipFinalSnapshot: true }),
        what,
        signal,
      );
    }
  } catch (error) {
    // Gone between the check and the delete: someone (cleanup, the run's own teardown) was faster.
    if (error instanceof RdsNotFoundError) return 'gone';
    throw error;
  }
  return 'deleted';
}

async function describe(
  client: RDSClient,
  target: RdsTarget,
  signal?: AbortSignal,
): Promise<{ arn: string; status: string } | null> {
  const { DescribeDBClustersCommand, DescribeDBInstancesCommand } = await rdsSdk();
  const what = `${target.type} ${target.identifier}`;
  try {
    if (target.type === 'db-instance') {
      const out = await sendRds(
        client,
        new DescribeDBInstancesCommand({ DBInstanceIdentifier: target.identifier }),
        what,
        signal,
      );
      const instance = out.DBInstances?.[0];
      return instance ? { arn: instance.DBInstanceArn!, status: instance.DBInstanceStatus ?? 'unknown' } : null;
    }
    const out = await sendRds(
      client,
      new DescribeDBClustersCommand({ DBClusterIdentifier: target.identifier }),
      what,
      signal,
    );
    const cluster = out.DBClusters?.[0];
    return cluster ? { arn: cluster.DBClusterArn!, status: cluster.Status ?? 'unknown' } : null;
  } catch (error) {
    if (error instanceof RdsNotFoundError) return null;
    throw error;
  }
}
