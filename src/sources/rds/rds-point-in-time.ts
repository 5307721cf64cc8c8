import { DescribeDBInstancesCommand, type DBInstance, type RDSClient } from '@aws-sdk/client-rds';
import { ConfigError } from '../../errors.ts';
import { createRdsClient, parseArn, type RdsClientOptions } from '../../aws/rds-client.ts';
import { sendRds } from '../../aws/rds-errors.ts';
import type { Source } from '../source.ts';
import type { RecoveryPoint, Restorable } from '../../model/recovery-point.ts';

/** Options of {@link rdsPointInTime}. */
export interface RdsPointInTimeOptions extends RdsClientOptions {
  /** The DB instance whose automated backups (snapshots plus transaction logs) are restored. */
  readonly dbInstanceIdentifier: string;
  /** `'latest'` (default: the latest restorable time, usually minutes ago) or a time inside the backup retention. */
  readonly target?: Date | 'latest';
  readonly client?: RDSClient;
}

/** A point in time of an RDS instance, restored with `RestoreDBInstanceToPointInTime` by {@link rdsInstance}. */
export interface RdsPointInTimeRestorable extends Restorable {
  readonly kind: 'rds-point-in-time';
  readonly sourceDbInstanceIdentifier: string;
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
 */
export function rdsPointInTime(options: RdsPointInTimeOptions): Source<RdsPointInTimeRestorable> {
  const { dbInstanceIdentifier } = options;
  const target = options.target ?? 'latest';
  let client: Promise<RDSClient> | undefined;
  const rds = () => (client ??= options.client ? Promise.resolve(options.client) : createRdsClient(options));
  const label = target === 'latest' ? 'latest' : target.toISOString();

  return {
    kind: 'rds-point-in-time',
    describe: () => `rds-point-in-time db-instance ${dbInstanceIdentifier} at ${label}${options.region ? ` (${options.region})` : ''}`,
    async list(context) {
      const client = await rds();
      const region = await client.config.region();
      const out = await sendRds(client, new DescribeDBInstancesCommand({ DBInstanceIdentifier: dbInstanceIdentifier }), `db-instance ${dbInstanceIdentifier}`, context.signal);
      const instance = out.DBInstances?.[0];
      if (!instance) throw new ConfigError(`RDS found no db-instance ${dbInstanceIdentifier} in ${region}`, 'check the identifier and the region');
      return [pointOf(instance, target, region)];
    },
    async fetch(point) {
      if (point.source !== 'rds-point-in-time') throw new Error(`rds-point-in-time source cannot fetch a recovery point of source ${point.source}`);
      const f = point.facts;
      return {
        kind: 'rds-point-in-time',
        sourceDbInstanceIdentifier: dbInstanceIdentifier,
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

function pointOf(instance: DBInstance, target: Date | 'latest', clientRegion: string): RecoveryPoint {
  const id = instance.DBInstanceIdentifier!;
  const latest = instance.LatestRestorableTime;
  if (!instance.BackupRetentionPeriod || !latest) {
    throw new ConfigError(`db-instance ${id} has no automated backups, so no point in time to restore`, 'set a backup retention period above 0 on the instance, or use rdsSnapshotSource()');
  }
  if (target !== 'latest' && target.getTime() > latest.getTime()) {
    throw new ConfigError(`db-instance ${id} can be restored up to ${latest.toISOString()}, not to ${target.toISOString()}`, "pick an earlier target, or target: 'latest'");
  }
  const arn = parseArn(instance.DBInstanceArn);
  return {
    source: 'rds-point-in-time',
    id: `${id}@${target === 'latest' ? 'latest' : target.toISOString()}`,
    createdAt: target === 'latest' ? latest : target,
    createdAtBasis: target === 'latest' ? 'rds-latest-restorable-time' : 'rds-restore-target',
    facts: {
      resource: 'db-instance-point-in-time',
      arn: instance.DBInstanceArn ?? null,
      region: arn?.region || clientRegion,
      account: arn?.account || null,
      dbInstanceIdentifier: id,
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
