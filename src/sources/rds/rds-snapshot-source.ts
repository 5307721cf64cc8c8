// The RDS sources: implement `Source` (../source.ts) over RDS snapshots (this file) and an instance's
// restorable time window (rds-point-in-time.ts). Their recovery points are `rds-snapshot` and
// `rds-point-in-time` restorables, which the RDS environment (environments/rds/) restores. AWS clients and
// errors: src/aws/.

import type { DBClusterSnapshot, DBSnapshot, RDSClient } from '@aws-sdk/client-rds';
import { rdsSdk } from '../../aws/sdk.ts';
import { ConfigError } from '../../errors.ts';
import { createRdsClient, parseArn, type RdsClientOptions } from '../../aws/rds-client.ts';
import { explainRdsError, NoSnapshotsError, RdsNotFoundError, sendRds } from '../../aws/rds-errors.ts';
import { checkKeyAccess } from '../../aws/kms-key-access.ts';
import type { Source, SourceContext } from '../source.ts';
import { copyEvidence, databaseInRegion } from './rds-copies.ts';
import type { RecoveryPoint, Restorable } from '../../model/recovery-point.ts';

/** Options of {@link rdsSnapshotSource}: whose snapshots, where, and which kinds. */
export interface RdsSnapshotSourceOptions extends RdsClientOptions {
  /** DB instance whose snapshots are listed (automated, manual, copies into this region). */
  readonly dbInstanceIdentifier?: string;
  /** Aurora DB cluster whose cluster snapshots are listed. */
  readonly dbClusterIdentifier?: string;
  /** Also list snapshots other accounts shared with this one (their identifiers are ARNs). Default false. */
  readonly includeShared?: boolean;
  /** Only this snapshot type, e.g. `automated`, `manual`, `awsbackup`; default automated and manual. */
  readonly snapshotType?: string;
  /**
   * Only offsite copies: snapshots copied into `region` from another region or account, or shared from
   * another account (see {@link copyEvidence}); the drill then restores the newest copy in the copy's
   * region. Turns on `includeShared` unless it is set to false. Default false.
   */
  readonly copiesOnly?: boolean;
  /**
   * The key-access check before an encrypted snapshot is restored ({@link checkKeyAccess}): its KMS key is
   * described in the snapshot's region and must be Enabled. Default: on with `copiesOnly`, else off.
   */
  readonly keyAccessCheck?: boolean;
  /** A ready-made client (e.g. with extra middleware); default: {@link createRdsClient} for `region`. */
  readonly client?: RDSClient;
}

/**
 * An RDS DB snapshot or Aurora DB cluster snapshot to restore into a new instance (see {@link rdsInstance}).
 * A snapshot has no byte digest: RDS keeps its bytes to itself.
 */
export interface RdsSnapshotRestorable extends Restorable {
  readonly kind: 'rds-snapshot';
  /** A DB instance snapshot or an Aurora DB cluster snapshot. */
  readonly resource: 'db-snapshot' | 'db-cluster-snapshot';
  /** The identifier as RDS lists it (an ARN for snapshots shared from another account). */
  readonly snapshotIdentifier: string;
  readonly arn: string;
  /** The region the snapshot lives in: restores happen there. */
  readonly region: string;
  readonly engine: string;
  readonly engineVersion: string | null;
  readonly encrypted: boolean;
  readonly kmsKeyId: string | null;
  /** The key's state when the key-access check described it (e.g. `Enabled`); absent when not checked. */
  readonly kmsKeyState?: string;
}

/** An {@link rdsSnapshotSource}, which can also list the same database's snapshots in another region. */
export interface RdsSnapshotSource extends Source<RdsSnapshotRestorable> {
  /** The same listing in another region, e.g. where snapshots are copied to (see `offsiteCopyPolicy`). */
  inRegion(region: string): RdsSnapshotSource;
}

/**
 * Recovery points that are RDS snapshots: DB instance snapshots (automated, manual, copies made into this
 * region, and with `includeShared` those shared from other accounts) and Aurora DB cluster snapshots,
 * listed with the SDK's paginators. Only `available` snapshots are recovery points. A point's time is the
 * snapshot's original creation time (for a copy: when the source snapshot was taken, not when it was
 * copied); its facts record id, ARN, engine and version, encryption and KMS key, region and account,
 * snapshot type, and for copies the source region and snapshot. With `copiesOnly` only offsite copies are
 * recovery points (each with the fact `copy` saying why it is one), and an encrypted one's KMS key is
 * checked before it is restored (`keyAccessCheck`).
 *
 * @example
 * // The disaster case: the primary region is gone, the copy in Frankfurt must restore.
 * drill('shop restores from its EU copy', {
 *   source: rdsSnapshotSource({ dbInstanceIdentifier: 'shop-prod', region: 'eu-central-1', copiesOnly: true }),
 *   environment: rdsInstance(),
 * });
 * @example
 * drill('shop from its latest RDS snapshot', {
 *   source: rdsSnapshotSource({ dbInstanceIdentifier: 'shop-prod', region: 'eu-west-1' }),
 *   environment: rdsInstance({ instanceClass: 'db.t3.medium' }),
 * });
 */
export function rdsSnapshotSource(options: RdsSnapshotSourceOptions): RdsSnapshotSource {
  if (!options.dbInstanceIdentifier && !options.dbClusterIdentifier) {
    throw new ConfigError(
      'rdsSnapshotSource needs dbInstanceIdentifier or dbClusterIdentifier',
      "name the database whose snapshots the drill proves, e.g. rdsSnapshotSource({ dbInstanceIdentifier: 'shop-prod' })",
    );
  }
  let client: Promise<RDSClient> | undefined;
  const rds = () => (client ??= options.client ? Promise.resolve(options.client) : createRdsClient(options));
  const whose = [
    options.dbInstanceIdentifier ? `db-instance ${options.dbInstanceIdentifier}` : null,
    options.dbClusterIdentifier ? `db-cluster ${options.dbClusterIdentifier}` : null,
  ]
    .filter(Boolean)
    .join(' and ');
  const copiesOnly = options.copiesOnly === true;
  const listing = copiesOnly && options.includeShared === undefined ? { ...options, includeShared: true } : options;
  const keyAccessCheck = options.keyAccessCheck ?? copiesOnly;

  return {
    kind: 'rds-snapshot',
    describe: () =>
      `rds-snapshot ${copiesOnly ? 'copies of ' : ''}${whose}${options.region ? ` (${options.region})` : ''}`,
    inRegion: (region) => rdsSnapshotSource({ ...options, region, client: undefined }),
    async list(context) {
      const client = await rds();
      const region = await client.config.region();
      const points: RecoveryPoint[] = [];
      let unavailable = 0;
      let local = 0;
      const here = new Map<string, Promise<boolean>>();
      /** Keeps a point; with copiesOnly only an offsite copy, with the evidence that it is one. */
      const keep = async (
        snapshot: DBSnapshot | DBClusterSnapshot,
        point: RecoveryPoint,
        which: Parameters<typeof databaseInRegion>[1],
      ) => {
        if (!copiesOnly) return void points.push(point);
        const key = JSON.stringify(which);
        if (!here.has(key)) here.set(key, databaseInRegion(client, which, context.signal));
        const evidence = copyEvidence(snapshot, region, await here.get(key)!);
        if (evidence) points.push({ ...point, facts: { ...point.facts, copy: evidence } });
        else local++;
      };
      if (options.dbInstanceIdentifier) {
        for (const snapshot of await listDbSnapshots(client, listing, context.signal)) {
          if (snapshot.Status !== 'available' || !snapshot.SnapshotCreateTime) unavailable++;
          else
            await keep(snapshot, dbSnapshotPoint(snapshot, region), {
              dbInstanceIdentifier: options.dbInstanceIdentifier,
            });
        }
      }
      if (options.dbClusterIdentifier) {
        for (const snapshot of await listClusterSnapshots(client, listing, context.signal)) {
          if (snapshot.Status !== 'available' || !snapshot.SnapshotCreateTime) unavailable++;
          else
            await keep(snapshot, clusterSnapshotPoint(snapshot, region), {
              dbClusterIdentifier: options.dbClusterIdentifier,
            });
        }
      }
      if (unavailable)
        context.log(
          `locate: ${unavailable} snapshot(s) of ${whose} in ${region} not available yet (creating, copying or failed): not recovery points`,
        );
      if (local)
        context.log(
          `locate: ${local} snapshot(s) of ${whose} in ${region} are not offsite copies (taken or copied in this region and account): skipped`,
        );
      if (points.length === 0 && copiesOnly) {
        const others = [
          unavailable ? `${unavailable} not available yet` : '',
          local ? `${local} not offsite copies` : '',
        ]
          .filter(Boolean)
          .join(', ');
        throw new NoSnapshotsError(
          `no offsite copies of ${whose} in ${region}: no available snapshot there was copied from another region or account${others ? ` (${others})` : ''}`,
          'check the copy job (AWS Backup copy rule, or the CopyDBSnapshot schedule) and that it targets this region; copies shared from another account must be shared with this one',
        );
      }
      if (points.length === 0) {
        throw new NoSnapshotsError(
          `no available RDS snapshots of ${whose} in ${region}${unavailable ? ` (${unavailable} not available yet)` : ''}`,
          'check the identifier and the region; automated snapshots need a backup retention period above 0; shared snapshots need includeShared: true',
        );
      }
      return points.sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || a.id.localeCompare(b.id));
    },
    async fetch(point, context) {
      if (point.source !== 'rds-snapshot')
        throw new Error(`rds-snapshot source cannot fetch a recovery point of source ${point.source}`);
      const client = await rds();
      const restorable = restorableOf(point);
      // Re-read it: an automated snapshot may have expired, or a copy be gone, since the listing.
      const status = await currentStatus(client, restorable, context);
      if (status !== 'available') {
        throw new ConfigError(
          `RDS snapshot ${restorable.snapshotIdentifier} is ${status ?? 'gone'} now`,
          'run the drill again to pick another recovery point',
        );
      }
      if (!keyAccessCheck || !restorable.encrypted) return restorable;
      if (!restorable.kmsKeyId) {
        throw new ConfigError(
          `RDS snapshot ${restorable.snapshotIdentifier} in ${restorable.region} is encrypted but RDS names no KMS key for it`,
          'look at the snapshot in the RDS console; or turn off keyAccessCheck',
        );
      }
      context.log(`locate: key-access check of KMS key ${restorable.kmsKeyId} in ${restorable.region}`);
      const check = await checkKeyAccess({
        kmsKeyId: restorable.kmsKeyId,
        region: restorable.region,
        what: `RDS snapshot ${restorable.snapshotIdentifier}`,
        signal: context.signal,
      });
      return { ...restorable, kmsKeyState: 'Enabled', checks: [check] };
    },
  };
}

async function listDbSnapshots(
  client: RDSClient,
  options: RdsSnapshotSourceOptions,
  signal?: AbortSignal,
): Promise<DBSnapshot[]> {
  const { paginateDescribeDBSnapshots } = await rdsSdk();
  const snapshots: DBSnapshot[] = [];
  const input = {
    DBInstanceIdentifier: options.dbInstanceIdentifier,
    ...(options.snapshotType ? { SnapshotType: options.snapshotType } : {}),
    ...(options.includeShared ? { IncludeShared: true } : {}),
  };
  try {
    for await (const page of paginateDescribeDBSnapshots({ client, pageSize: 100 }, input, { abortSignal: signal })) {
      signal?.throwIfAborted();
      snapshots.push(...(page.DBSnapshots ?? []));
    }
  } catch (error) {
    throw explainRdsError(error, {
      action: 'DescribeDBSnapshots',
      resource: `snapshots of db-instance ${options.dbInstanceIdentifier}`,
      region: await client.config.region(),
    });
  }
  return snapshots;
}

async function listClusterSnapshots(
  client: RDSClient,
  options: RdsSnapshotSourceOptions,
  signal?: AbortSignal,
): Promise<DBClusterSnapshot[]> {
  const { paginateDescribeDBClusterSnapshots } = await rdsSdk();
  const snapshots: DBClusterSnapshot[] = [];
  const input = {
    DBClusterIdentifier: options.dbClusterIdentifier,
    ...(options.snapshotType ? { SnapshotType: options.snapshotType } : {}),
    ...(options.includeShared ? { IncludeShared: true } : {}),
  };
  try {
    for await (const page of paginateDescribeDBClusterSnapshots({ client, pageSize: 100 }, input, {
      abortSignal: signal,
    })) {
      signal?.throwIfAborted();
      snapshots.push(...(page.DBClusterSnapshots ?? []));
    }
  } catch (error) {
    throw explainRdsError(error, {
      action: 'DescribeDBClusterSnapshots',
      resource: `snapshots of db-cluster ${options.dbClusterIdentifier}`,
      region: await client.config.region(),
    });
  }
  return snapshots;
}

function dbSnapshotPoint(s: DBSnapshot, clientRegion: string): RecoveryPoint {
  const arn = parseArn(s.DBSnapshotArn);
  const original = s.OriginalSnapshotCreateTime;
  return {
    source: 'rds-snapshot',
    id: s.DBSnapshotIdentifier!,
    // A copy's own SnapshotCreateTime is when it was copied; its data is as old as the original.
    createdAt: original ?? s.SnapshotCreateTime!,
    createdAtBasis: original ? 'rds-original-snapshot-create-time' : 'rds-snapshot-create-time',
    facts: {
      resource: 'db-snapshot',
      arn: s.DBSnapshotArn ?? null,
      region: arn?.region || clientRegion,
      account: arn?.account || null,
      snapshotType: s.SnapshotType ?? null,
      dbInstanceIdentifier: s.DBInstanceIdentifier ?? null,
      engine: s.Engine ?? null,
      engineVersion: s.EngineVersion ?? null,
      encrypted: s.Encrypted ?? false,
      kmsKeyId: s.KmsKeyId ?? null,
      snapshotCreateTime: s.SnapshotCreateTime!.toISOString(),
      sourceRegion: s.SourceRegion ?? null,
      sourceSnapshot: s.SourceDBSnapshotIdentifier ?? null,
      allocatedStorageGiB: s.AllocatedStorage ?? null,
      port: s.Port ?? null,
    },
  };
}

function clusterSnapshotPoint(s: DBClusterSnapshot, clientRegion: string): RecoveryPoint {
  const arn = parseArn(s.DBClusterSnapshotArn);
  return {
    source: 'rds-snapshot',
    id: s.DBClusterSnapshotIdentifier!,
    createdAt: s.SnapshotCreateTime!,
    createdAtBasis: 'rds-snapshot-create-time',
    facts: {
      resource: 'db-cluster-snapshot',
      arn: s.DBClusterSnapshotArn ?? null,
      region: arn?.region || clientRegion,
      account: arn?.account || null,
      snapshotType: s.SnapshotType ?? null,
      dbClusterIdentifier: s.DBClusterIdentifier ?? null,
      engine: s.Engine ?? null,
      engineVersion: s.EngineVersion ?? null,
      encrypted: s.StorageEncrypted ?? false,
      kmsKeyId: s.KmsKeyId ?? null,
      snapshotCreateTime: s.SnapshotCreateTime!.toISOString(),
      sourceSnapshot: s.SourceDBClusterSnapshotArn ?? null,
      sourceRegion: parseArn(s.SourceDBClusterSnapshotArn)?.region ?? null,
      allocatedStorageGiB: s.AllocatedStorage ?? null,
      port: s.Port ?? null,
    },
  };
}

function restorableOf(point: RecoveryPoint): RdsSnapshotRestorable {
  const f = point.facts;
  return {
    kind: 'rds-snapshot',
    resource: f.resource === 'db-cluster-snapshot' ? 'db-cluster-snapshot' : 'db-snapshot',
    snapshotIdentifier: point.id,
    arn: String(f.arn ?? ''),
    region: String(f.region),
    engine: String(f.engine ?? 'postgres'),
    engineVersion: typeof f.engineVersion === 'string' ? f.engineVersion : null,
    encrypted: f.encrypted === true,
    kmsKeyId: typeof f.kmsKeyId === 'string' ? f.kmsKeyId : null,
  };
}

async function currentStatus(
  client: RDSClient,
  r: RdsSnapshotRestorable,
  context: SourceContext,
): Promise<string | undefined> {
  const { DescribeDBClusterSnapshotsCommand, DescribeDBSnapshotsCommand } = await rdsSdk();
  try {
    if (r.resource === 'db-cluster-snapshot') {
      const out = await sendRds(
        client,
        new DescribeDBClusterSnapshotsCommand({
          DBClusterSnapshotIdentifier: r.snapshotIdentifier,
          IncludeShared: true,
        }),
        `cluster snapshot ${r.snapshotIdentifier}`,
        context.signal,
      );
      return out.DBClusterSnapshots?.[0]?.Status;
    }
    const out = await sendRds(
      client,
      new DescribeDBSnapshotsCommand({ DBSnapshotIdentifier: r.snapshotIdentifier, IncludeShared: true }),
      `snapshot ${r.snapshotIdentifier}`,
      context.signal,
    );
    return out.DBSnapshots?.[0]?.Status;
  } catch (error) {
    if (error instanceof RdsNotFoundError) return undefined;
    throw error;
  }
}
