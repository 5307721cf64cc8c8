import type { RDSClient, Tag } from '@aws-sdk/client-rds';
import { rdsSdk } from '../../aws/sdk.ts';
import { RestoreDrillError } from '../../errors.ts';
import { createRdsClient } from '../../aws/rds-client.ts';
import { explainRdsError } from '../../aws/rds-errors.ts';
import { redact } from '../../util/redact.ts';
import { deleteIfOurs, type GuardedDeleteOutcome, type RdsTarget } from './rds-guarded-delete.ts';
import { readRdsLabel, type RdsLabel } from './rds-tags.ts';
import { RESOURCE_PREFIX } from '../labels.ts';
import { expiredOrTooOld } from '../leftover.ts';

/** A temporary RDS instance or cluster that a crashed run left behind. */
export interface RdsLeftover extends RdsTarget {
  readonly region: string;
  readonly label: RdsLabel;
  /** Why it counts as a leftover, e.g. `expired at 2026-11-23T20:00:00.000Z`. */
  readonly reason: string;
}

/** Options of {@link findRdsLeftovers}. */
export interface RdsLeftoverOptions {
  /** Also resources of runs that have not expired yet, once they are this old (seconds). */
  readonly olderThanSeconds?: number;
  /** The time expiry is judged against; default now. */
  readonly now?: Date;
}

/**
 * Finds temporary RDS instances and Aurora clusters of crashed runs in the client's region: named
 * `restore-drill-…`, tagged `restore-drill:owner=restore-drill` with a run id, and past their
 * `restore-drill:expires-at` (or, with `olderThanSeconds`, created that long ago). Anything else — however
 * similar its name — is not a leftover.
 *
 * @example
 * for (const leftover of await findRdsLeftovers(rds)) await removeRdsLeftover(rds, leftover);
 */
export async function findRdsLeftovers(client: RDSClient, options: RdsLeftoverOptions = {}): Promise<RdsLeftover[]> {
  const { paginateDescribeDBClusters, paginateDescribeDBInstances } = await rdsSdk();
  const region = await client.config.region();
  const now = (options.now ?? new Date()).getTime();
  const found: RdsLeftover[] = [];
  const consider = (
    type: RdsTarget['type'],
    identifier: string | undefined,
    tags: Tag[] | undefined,
    createdAt: Date | undefined,
  ) => {
    if (!identifier?.startsWith(RESOURCE_PREFIX)) return;
    const label = readRdsLabel(tags);
    if (!label) return;
    const reason = expiredOrTooOld({
      expiresAt: label.expiresAt,
      createdAt: label.createdAt ? Date.parse(label.createdAt) : (createdAt?.getTime() ?? NaN),
      now,
      olderThanSeconds: options.olderThanSeconds,
    });
    if (reason) found.push({ type, identifier, region, label, reason });
  };
  try {
    for await (const page of paginateDescribeDBInstances({ client }, {})) {
      for (const i of page.DBInstances ?? [])
        consider('db-instance', i.DBInstanceIdentifier, i.TagList, i.InstanceCreateTime);
    }
  } catch (error) {
    throw explainRdsError(error, { action: 'DescribeDBInstances', resource: 'db-instances', region });
  }
  try {
    for await (const page of paginateDescribeDBClusters({ client }, {})) {
      for (const c of page.DBClusters ?? [])
        consider('db-cluster', c.DBClusterIdentifier, c.TagList, c.ClusterCreateTime);
    }
  } catch (error) {
    throw explainRdsError(error, { action: 'DescribeDBClusters', resource: 'db-clusters', region });
  }
  // Instances first: a cluster cannot be deleted while it still has one.
  return found.sort((a, b) =>
    a.type === b.type ? a.identifier.localeCompare(b.identifier) : a.type === 'db-instance' ? -1 : 1,
  );
}

/**
 * Deletes one leftover after re-reading its tags (see `deleteIfOurs`): it must still carry restore-drill's
 * tags and the same run id it was found with.
 */
export async function removeRdsLeftover(client: RDSClient, leftover: RdsLeftover): Promise<GuardedDeleteOutcome> {
  return deleteIfOurs(client, leftover, leftover.label.runId);
}

/** What {@link cleanupRds} did in each region. */
export interface RdsCleanupResult {
  readonly removed: readonly RdsLeftover[];
  /** Leftovers that could not be deleted (e.g. a cluster whose instance is still being deleted), with why. */
  readonly failed: readonly { readonly leftover: RdsLeftover; readonly error: string }[];
}

/**
 * `restore-drill cleanup --rds`: finds and deletes leftovers in each region (the SDK's configured region
 * when none is given), one at a time, each after re-checking its tags. A failure to delete one is
 * reported and the others still go.
 *
 * @example
 * await cleanupRds({ regions: ['eu-west-1'], log: console.log });
 */
export async function cleanupRds(options: {
  readonly regions?: readonly string[];
  readonly olderThanSeconds?: number;
  readonly log: (line: string) => void;
  readonly clientFor?: (region: string | undefined) => Promise<RDSClient>;
}): Promise<RdsCleanupResult> {
  const removed: RdsLeftover[] = [];
  const failed: { leftover: RdsLeftover; error: string }[] = [];
  const clientFor = options.clientFor ?? ((region: string | undefined) => createRdsClient(region ? { region } : {}));
  for (const region of options.regions?.length ? options.regions : [undefined]) {
    const client = await clientFor(region);
    try {
      for (const leftover of await findRdsLeftovers(client, { olderThanSeconds: options.olderThanSeconds })) {
        try {
          const outcome = await removeRdsLeftover(client, leftover);
          removed.push(leftover);
          options.log(
            `removed RDS ${leftover.type} ${leftover.identifier} in ${leftover.region} (run ${leftover.label.runId}, drill "${leftover.label.drillName}": ${leftover.reason}; ${outcome})`,
          );
        } catch (error) {
          const message = redact(
            error instanceof RestoreDrillError && error.hint
              ? `${error.message} (${error.hint})`
              : (String((error as Error).message ?? error).split('\n')[0] ?? ''),
          );
          failed.push({ leftover, error: message });
          options.log(`could not remove RDS ${leftover.type} ${leftover.identifier} in ${leftover.region}: ${message}`);
        }
      }
    } finally {
      if (!options.clientFor) client.destroy();
    }
  }
  return { removed, failed };
}
