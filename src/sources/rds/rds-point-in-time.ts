import type { DBCluster, DBInstance, RDSClient } from '@aws-sdk/client-rds';
import { rdsSdk } from '../../aws/sdk.ts';
import { ConfigError } from '../../errors.ts';
import { createRdsClient, parseArn, type RdsClientOptions } from '../../aws/rds-client.ts';
import { sendRds } from '../../aws/rds-errors.ts';
import type { Source } from '../source.ts';
import type { RecoveryPoint, Restorable } from '../../model/recovery-point.ts';

/** Options of {@link rdsPointInTime}. */
export interface RdsPointInTimeOptions extends RdsClientOptions {
  /** The DB instance whose automated backups (snapshots plus transaction logs) are restored. */
  readonly dbInstanceIdentifier?: string;
  /** Or: the Aurora DB cluster restored with `RestoreDBClusterToPointInTime` (plus one instance to connect to). */
  readonly dbClusterIdentifier?: string;
  /** `'latest'` (default: the latest restorable time, usually minutes ago) or a time inside the backup retention. */
  readonly target?: Date | 'latest';
  readonly client?: RDSClient;
}

/** A point in time of an RDS instance, restored with `RestoreDBInstanceToPointInTime` by {@link rdsInstance}. */
export interface RdsPointInTimeRestorable extends Restorable {
  readonly kind: 'rds-point-in-time';
  /** The DB instance restored — or, for Aurora, the DB cluster (then `resource` is `db-cluster`). */
  readonly sourceDbInstanceIdentifier: string;
  /** `db-cluster` for an Aurora cluster's point in time; absent (or `db-instance`) for an instance. */
  readonly resource?: 'db-instance' | 'db-cluster';
  readonly sourceArn: string | null;
  readonly region: string;
  /** The time to restore to; null means RDS's latest restorable time at the moment of the restore. */
  readonly restoreTime: Date | null;
  /** The `LatestRestorableTime` RDS offered when the drill located the recovery point. */
  readonly latestRestorableTime: Date;
  readonly engine: string;
  readonly engineVersion: string | null;
  readonly encrypted: boolean;
  readonly kmsKeyId: string | null;
}

/**
 * The one recovery point "this instance at `target`": point-in-time recovery from its automated backups.
 * Listing reads the instance (DescribeDBInstances) and records the `LatestRestorableTime` it offers as a
 * fact; with `target: 'latest'` that time is the point's creation time, and the restore asks RDS for its
 * latest restorable time then (never earlier than the recorded one). A target later than what RDS offers,
 * or an instance without automated backups, is a ConfigError.
 *
 * @example
 * drill('shop to the latest restorable time', {
 *   source: rdsPointInTime({ dbInstanceIdentifier: 'shop-prod' }),
 *   environment: rdsInstance(),
 *   objectives: { rto: '8h', rpo: '15m' },
 * });
 * // Aurora: RestoreDBClusterToPointInTime into a temporary cluster, plus one instance to connect to.
 * rdsPointInTime({ dbClusterIdentifier: 'ledger-prod', target: new Date('2026-12-01T03:00:00Z') });
 */
export function rdsPointInTime(options: RdsPointInTimeOptions): Source<RdsPointInTimeRestorable> {
  if (!options.dbInstanceIdentifier === !options.dbClusterIdentifier) {
    throw new ConfigError(
      'rdsPointInTime needs dbInstanceIdentifier or dbClusterIdentifier (one of them)',
      "e.g. rdsPointInTime({ dbClusterIdentifier: 'ledger-prod' }) for Aurora",
    );
  }
  const cluster = options.dbClusterIdentifier !== undefined;
  const dbInstanceIdentifier = (options.dbInstanceIdentifier ?? options.dbClusterIdentifier)!;
  const what = cluster ? 'db-cluster' : 'db-instance';
  const target = options.target ?? 'latest';
  let client: Promise<RDSClient> | undefined;
  const rds = () => (client ??= options.client ? Promise.resolve(options.client) : createRdsClient(options));
  const label = target === 'latest' ? 'latest' : target.toISOString();

  return {
    kind: 'rds-point-in-time',
    describe: () =>
      `rds-point-in-time ${what} ${dbInstanceIdentifier} at ${label}${options.region ? ` (${options.region})` : ''}`,
    async list(context) {
      const { DescribeDBClustersCommand, DescribeDBInstancesCommand } = await rdsSdk();
      const client = await rds();
      const region = await client.config.region();
      if (cluster) {
        const out = await sendRds(
          client,
          new DescribeDBClustersCommand({ DBClusterIdentifier: dbInstanceIdentifier }),
          `db-cluster ${dbInstanceIdentifier}`,
          context.signal,
        );
        const found = out.DBClusters?.[0];
        if (!found)
          throw new ConfigError(
            `RDS found no db-cluster ${dbInstanceIdentifier} in ${region}`,
            'check the identifier and the region',
          );
        return [pointOf(clusterAsInstance(found), target, region, 'db-cluster')];
      }
      const out = await sendRds(
        client,
        new DescribeDBInstancesCommand({ DBInstanceIdentifier: dbInstanceIdentifier }),
        `db-instance ${dbInstanceIdentifier}`,
        context.signal,
      );
      const instance = out.DBInstances?.[0];
      if (!instance)
        throw new ConfigError(
          `RDS found no db-instance ${dbInstanceIdentifier} in ${region}`,
          'check the identifier and the region',
        );
      return [pointOf(instance, target, region)];
    },
    async fetch(point) {
      if (point.source !== 'rds-point-in-time')
        throw new Error(`rds-point-in-time source cannot fetch a recovery point of source ${point.source}`);
      const f = point.facts;
      return {
        kind: 'rds-point-in-time',
        sourceDbInstanceIdentifier: dbInstanceIdentifier,
        ...(cluster ? { resource: 'db-cluster' as const } : {}),
        sourceArn: typeof f.arn === 'string' ? f.arn : null,
        region: String(f.region),
        restoreTime: target === 'latest' ? null : target,
        latestRestorableTime: new Date(String(f.latestRestorableTime)),
        engine: String(f.engine ?? 'postgres'),
        engineVersion: typeof f.engineVersion === 'string' ? f.engineVersion : null,
        encrypted: f.encrypted === true,
        kmsKeyId: typeof f.kmsKeyId === 'string' ? f.kmsKeyId : null,
      };
    },
  };
}

/** The fields of an Aurora cluster that a point in time needs, in the shape of an instance's. */
function clusterAsInstance(c: DBCluster): DBInstance {
  return {
    DBInstanceIdentifier: c.DBClusterIdentifier,
    DBInstanceArn: c.DBClusterArn,
    LatestRestorableTime: c.LatestRestorableTime,
    BackupRetentionPeriod: c.BackupRetentionPeriod,
    Engine: c.Engine,
    EngineVersion: c.EngineVersion,
    StorageEncrypted: c.StorageEncrypted,
    KmsKeyId: c.KmsKeyId,
  };
}

function pointOf(
  instance: DBInstance,
  target: Date | 'latest',
  clientRegion: string,
  what: 'db-instance' | 'db-cluster' = 'db-instance',
): RecoveryPoint {
  const id = instance.DBInstanceIdentifier!;
  const latest = instance.LatestRestorableTime;
  if (!instance.BackupRetentionPeriod || !latest) {
    throw new ConfigError(
      `${what} ${id} has no automated backups, so no point in time to restore`,
      'set a backup retention period above 0 on the instance, or use rdsSnapshotSource()',
    );
  }
  if (target !== 'latest' && target.getTime() > latest.getTime()) {
    throw new ConfigError(
      `${what} ${id} can be restored up to ${latest.toISOString()}, not to ${target.toISOString()}`,
      "pick an earlier target, or target: 'latest'",
    );
  }
  const arn = parseArn(instance.DBInstanceArn);
  return {
    source: 'rds-point-in-time',
    id: `${id}@${target === 'latest' ? 'latest' : target.toISOString()}`,
    createdAt: target === 'latest' ? latest : target,
    createdAtBasis: target === 'latest' ? 'rds-latest-restorable-time' : 'rds-restore-target',
    facts: {
      resource: `${what}-point-in-time`,
      arn: instance.DBInstanceArn ?? null,
      region: arn?.region || clientRegion,
      account: arn?.account || null,
      ...(what === 'db-cluster' ? { dbClusterIdentifier: id } : { dbInstanceIdentifier: id }),
      latestRestorableTime: latest.toISOString(),
      restoreTarget: target === 'latest' ? 'latest' : target.toISOString(),
      backupRetentionPeriodDays: instance.BackupRetentionPeriod,
      engine: instance.Engine ?? null,
      engineVersion: instance.EngineVersion ?? null,
      encrypted: instance.StorageEncrypted ?? false,
      kmsKeyId: instance.KmsKeyId ?? null,
    },
  };
}
