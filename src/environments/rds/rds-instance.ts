// The RDS environment: implements `Environment` (../environment.ts) with a throwaway RDS instance restored
// from an `rds-snapshot` or `rds-point-in-time` recovery point (sources/rds/) — tagged (rds-tags.ts),
// waited for (rds-wait.ts), reached with the drill's credentials or a Secrets Manager secret
// (rds-credentials.ts), and deleted only when its tags prove it ours (rds-guarded-delete.ts,
// rds-leftovers.ts). AWS clients and errors: src/aws/.

import type { DBInstance, RDSClient } from '@aws-sdk/client-rds';
import { rdsSdk } from '../../aws/sdk.ts';
import type pg from 'pg';
import { ConfigError, RestoreDrillError } from '../../errors.ts';
import { createRdsClient, requireRegion } from '../../aws/rds-client.ts';
import { cleanupRds } from './rds-leftovers.ts';
import { sendRds } from '../../aws/rds-errors.ts';
import type { RdsPointInTimeRestorable } from '../../sources/rds/rds-point-in-time.ts';
import type { RdsSnapshotRestorable } from '../../sources/rds/rds-snapshot-source.ts';
import type { Restorable } from '../../model/recovery-point.ts';
import { parseDuration, type DurationString } from '../../util/duration.ts';
import { redact } from '../../util/redact.ts';
import type {
  Environment,
  EnvironmentContext,
  InstanceLimit,
  RestoreOptions,
  StartedEnvironment,
} from '../environment.ts';
import type { CheckResult } from '../../model/report.ts';
import { acquireLease, type Lease } from '../../evidence/lease-pool.ts';
import { openLeaseObjects } from '../../evidence/lease-location.ts';
import {
  newMasterPassword,
  resolveCredentials,
  type RdsCredentials,
  type ResolvedCredentials,
} from './rds-credentials.ts';
import { deleteIfOurs, requireOurs, type RdsTarget } from './rds-guarded-delete.ts';
import { rdsExposureCheck, readOutboundCode } from './rds-exposure.ts';
import { drillTags, rdsIdentifier } from './rds-tags.ts';
import { connectWhenReady, waitAvailable, type Deadline } from './rds-wait.ts';

/** Options of the {@link rdsInstance} environment. All optional. */
export interface RdsInstanceOptions {
  /** Instance class of the temporary instance; default `db.t3.medium` (offered for RDS and Aurora PostgreSQL alike). */
  readonly instanceClass?: string;
  /** DB subnet group (which VPC and subnets); default the account's default. */
  readonly subnetGroup?: string;
  /** VPC security groups; default the VPC's default group. They must let the drill reach the port. */
  readonly securityGroupIds?: readonly string[];
  /** DB parameter group; default the engine's default. */
  readonly parameterGroup?: string;
  /** How to log in; default: a fresh password for this run is set on the temporary instance. See {@link RdsCredentials}. */
  readonly credentials?: RdsCredentials;
  /** Database the checks run in; default the instance's DBName, else `postgres`. */
  readonly database?: string;
  /** Longest time from the restore call until the database accepts connections; default `2h`. */
  readonly timeout?: DurationString | number;
  /** When `restore-drill cleanup` may delete the instance if the run crashed; default the timeout plus 6h. */
  readonly expiresAfter?: DurationString | number;
  /** Extra tags, e.g. `{ 'cost-center': 'dr-tests' }` (keys starting `restore-drill:` are reserved). */
  readonly tags?: Readonly<Record<string, string>>;
  /** TLS for `pg`; default encrypted without verifying the server (pass `{ ca }` with the RDS CA bundle to verify). */
  readonly ssl?: pg.ClientConfig['ssl'];
  /**
   * Connect here instead of the instance's endpoint. For tests against an RDS emulator (moto), whose
   * restored instances have no database behind them: the endpoint is mapped to a local PostgreSQL holding
   * the same data. Everything else (restore, tags, waits, delete) still goes to the RDS API. Recorded in
   * the report.
   */
  readonly endpointOverride?: { readonly host: string; readonly port: number };
  /** A ready-made RDS client (e.g. with extra middleware); it must send to the recovery point's region. */
  readonly client?: RDSClient;
  /** Attempts per RDS call (throttling is retried with backoff); default 8. */
  readonly maxAttempts?: number;
  /**
   * At most `max` temporary instances at once across every shard of a fleet, so a run never trips the
   * account's quota: the drill first takes one of `max` leases kept at `leases` (an evidence store
   * `s3://bucket/prefix` or a directory every shard shares), waiting with progress lines while all are held,
   * renews it while it runs and releases it at teardown. Default: `run --rds-limit K` (`$RESTORE_DRILL_RDS_LIMIT`),
   * else no cap. A lease that expired while the drill ran fails the check `RDS instance limit`.
   */
  readonly limit?: InstanceLimit & {
    /** A lease not renewed for this long is free for others (a crashed shard's); default `10m`. */
    readonly leaseTtl?: DurationString | number;
  };
}

/** Name of the check that fails when the drill's instance lease expired while it ran. */
export const RDS_LIMIT_CHECK = 'RDS instance limit';

const DEFAULT_CLASS = 'db.t3.medium';

/**
 * A temporary RDS instance: the recovery point (an RDS snapshot, an Aurora cluster snapshot, or a point in
 * time) is restored into a NEW instance named `restore-drill-<run id>` and tagged with the run id, the
 * drill's name and an expiry time; restore-drill waits for it with the SDK's waiters under `timeout`,
 * logs in, runs the checks, and deletes it without a final snapshot at teardown — after re-reading its
 * tags. It never modifies or deletes anything that does not carry them. The instance's creation is timed
 * as the `restore` phase (that is where RDS spends the time), so it counts against the RTO.
 *
 * @example
 * drill('shop from its latest snapshot', {
 *   source: rdsSnapshotSource({ dbInstanceIdentifier: 'shop-prod' }),
 *   environment: rdsInstance({ subnetGroup: 'drills', securityGroupIds: ['sg-0abc'] }),
 *   objectives: { rto: '8h', rpo: '24h' },
 * });
 */
export function rdsInstance(options: RdsInstanceOptions = {}): Environment {
  return {
    kind: 'rds-instance',
    async start(context) {
      const timeoutSeconds = parseDuration(options.timeout ?? '2h', 'rdsInstance timeout');
      const expiresAfterSeconds = parseDuration(
        options.expiresAfter ?? timeoutSeconds + 6 * 3600,
        'rdsInstance expiresAfter',
      );
      if (expiresAfterSeconds <= timeoutSeconds) {
        throw new ConfigError(
          'rdsInstance expiresAfter must be longer than its timeout',
          'leave expiresAfter out, or make it longer than the timeout',
        );
      }
      const started = new StartedRdsInstance(options, context, timeoutSeconds, expiresAfterSeconds);
      await started.takeLease(options.limit ?? context.instanceLimit);
      context.log(
        `provision: the recovery point will be restored into a new RDS instance ${started.identifier} (${options.instanceClass ?? DEFAULT_CLASS})`,
      );
      return started;
    },
    // Expired temporary instances and clusters of crashed runs, in the configured region (or the client's).
    async removeLeftovers({ log }) {
      const result = await cleanupRds({ log, ...(options.client ? { clientFor: async () => options.client! } : {}) });
      return result.removed.length;
    },
  };
}

type RdsRestorable = RdsSnapshotRestorable | RdsPointInTimeRestorable;

function isRdsRestorable(restorable: Restorable): restorable is RdsRestorable {
  return restorable.kind === 'rds-snapshot' || restorable.kind === 'rds-point-in-time';
}

/** The started environment: nothing exists in AWS until {@link restore} creates the instance. */
class StartedRdsInstance implements StartedEnvironment {
  readonly kind = 'rds-instance';
  readonly runId: string;
  /** The temporary instance (for Aurora: the cluster's one instance). */
  readonly identifier: string;
  /** The temporary Aurora cluster, when restoring a cluster snapshot. */
  private clusterIdentifier: string | undefined;
  version = '';
  database: string;
  private client: RDSClient | undefined;
  private endpoint: { host: string; port: number } | undefined;
  /** DescribeDBInstances of the temporary instance once it was available: its network placement, for the checks. */
  private described: DBInstance | undefined;
  private credentials: ResolvedCredentials | undefined;
  private readonly recorded: Record<string, string | number | boolean | null> = {};
  private stopped = false;
  private lease: { readonly held: Lease; readonly where: string; readonly close: () => void } | undefined;

  constructor(
    private readonly options: RdsInstanceOptions,
    private readonly context: EnvironmentContext,
    private readonly timeoutSeconds: number,
    private readonly expiresAfterSeconds: number,
  ) {
    this.runId = context.runId;
    this.identifier = rdsIdentifier(context.runId);
    this.database = options.database ?? 'postgres';
  }

  /** What the report records: where the instance ran and with which settings. Holds no secret. */
  get facts(): Record<string, string | number | boolean | null> {
    return { ...this.recorded };
  }

  /** Waits for one of the limit's leases (when there is a limit) before anything is created in AWS. */
  async takeLease(limit: RdsInstanceOptions['limit']): Promise<void> {
    if (!limit) return;
    const ttlSeconds = parseDuration(limit.leaseTtl ?? '10m', 'rdsInstance limit.leaseTtl');
    const { objects, close } = await openLeaseObjects(limit.leases, 'rds-instances');
    try {
      const held = await acquireLease(objects, {
        limit: limit.max,
        holder: `${this.context.drillName} (run ${this.runId})`,
        ttlSeconds,
        log: (line) => this.context.log(`provision: ${line}`),
        signal: this.context.signal,
      });
      const where = `lease ${held.slot + 1} of ${limit.max} in ${objects.where}`;
      this.lease = { held, where, close };
      Object.assign(this.recorded, {
        instanceLimit: where,
        instanceLimitWaitSeconds: held.waitedSeconds,
      });
    } catch (error) {
      close();
      throw error;
    }
  }

  /**
   * The check `RDS instance limit`, read just before the report is signed. It covers the lease up to then:
   * the lease is released at teardown, after the report, once the instance's deletion is requested. A lapse
   * in that window is not in this report; it is in the report of the drill that took the slot (its check is
   * `skipped`: the limit was not guaranteed while it ran), so the signed evidence never says it held when it
   * did not.
   */
  async checks(): Promise<CheckResult[]> {
    return [...(await this.exposureChecks()), ...(await this.leaseChecks())];
  }

  /** What the temporary instance's network lets the backup's code reach (once it was restored and described). */
  private async exposureChecks(): Promise<CheckResult[]> {
    if (!this.described || !this.endpoint) return [];
    const outbound = await readOutboundCode(this.connectionConfig(), this.database).catch((error: unknown) => ({
      unreadable: redact((error as Error).message),
    }));
    return [rdsExposureCheck(this.described, this.options.securityGroupIds, outbound)];
  }

  private async leaseChecks(): Promise<CheckResult[]> {
    if (!this.lease) return [];
    const { held, where } = this.lease;
    const outcome = await held
      .outcome()
      .catch((error: unknown) => ({ held: false, reason: `the lease could not be read: ${(error as Error).message}` }));
    const expected = 'lease held from provision until the report was signed';
    if (!outcome.held) {
      return [
        {
          name: RDS_LIMIT_CHECK,
          status: 'failed',
          expected,
          actual: 'lease lost',
          detail: `${outcome.reason}; give the lease a longer leaseTtl, or look for what stalled this drill`,
        },
      ];
    }
    const lapsed = held.tookOverFrom;
    if (lapsed) {
      return [
        {
          name: RDS_LIMIT_CHECK,
          status: 'skipped',
          expected,
          actual: 'held, taken over from a lapsed lease',
          detail: `not verified: ${where} was taken over from ${lapsed.holder}, whose lease expired at ${lapsed.expiresAt} without being released (it crashed, or its teardown stalled past its leaseTtl); its instance may still have existed while this drill's ran, so more than the limit may have run at once`,
        },
      ];
    }
    return [
      {
        name: RDS_LIMIT_CHECK,
        status: 'passed',
        expected,
        actual: 'held',
        detail: `${where}; released at teardown, after this report, once the instance's deletion is requested: a lapse then is reported by the drill that takes the slot`,
      },
    ];
  }

  connectionConfig(database: string = this.database): pg.ClientConfig {
    if (!this.endpoint || !this.credentials)
      throw new Error(`RDS instance ${this.identifier} has not been restored yet`);
    return {
      host: this.endpoint.host,
      port: this.endpoint.port,
      user: this.credentials.username,
      password: this.credentials.password,
      database,
      ssl: this.options.endpointOverride
        ? (this.options.ssl ?? false)
        : (this.options.ssl ?? { rejectUnauthorized: false }),
    };
  }

  libpqEnv(database: string = this.database): Record<string, string> {
    const config = this.connectionConfig(database);
    return {
      PGHOST: String(config.host),
      PGPORT: String(config.port),
      PGUSER: String(config.user),
      PGPASSWORD: String(config.password),
      PGDATABASE: database,
      PGSSLMODE: config.ssl ? 'require' : 'disable',
    };
  }

  async restore(restorable: Restorable, { signal, log }: RestoreOptions): Promise<void> {
    const {
      RestoreDBClusterFromSnapshotCommand,
      RestoreDBClusterToPointInTimeCommand,
      RestoreDBInstanceFromDBSnapshotCommand,
      RestoreDBInstanceToPointInTimeCommand,
    } = await rdsSdk();
    if (!isRdsRestorable(restorable)) {
      throw new ConfigError(
        `the rds-instance environment cannot restore a ${restorable.kind} recovery point`,
        'pair it with rdsSnapshotSource() or rdsPointInTime(); restore dumps with localPostgres()',
      );
    }
    const options = this.options;
    const client = await this.rds(restorable.region);
    const deadline: Deadline = { at: Date.now() + this.timeoutSeconds * 1000, timeoutSeconds: this.timeoutSeconds };
    const createdAt = new Date();
    const tags = drillTags(
      {
        runId: this.runId,
        drillName: this.context.drillName,
        createdAt: createdAt.toISOString(),
        expiresAt: new Date(createdAt.getTime() + this.expiresAfterSeconds * 1000).toISOString(),
      },
      options.tags,
    );
    const placement = {
      DBSubnetGroupName: options.subnetGroup,
      VpcSecurityGroupIds: options.securityGroupIds ? [...options.securityGroupIds] : undefined,
      DeletionProtection: false,
      Tags: tags,
    };
    const instanceSettings = {
      ...placement,
      DBInstanceClass: options.instanceClass ?? DEFAULT_CLASS,
      DBParameterGroupName: options.parameterGroup,
      PubliclyAccessible: false,
      MultiAZ: false,
      CopyTagsToSnapshot: false,
    };
    const instance: RdsTarget = { type: 'db-instance', identifier: this.identifier };
    Object.assign(this.recorded, {
      region: restorable.region,
      instanceIdentifier: this.identifier,
      expiresAt: tags.find((t) => t.Key === 'restore-drill:expires-at')?.Value ?? null,
    });

    if (restorable.kind === 'rds-point-in-time' && restorable.resource === 'db-cluster') {
      // Aurora point in time: a new cluster at that time, which then needs one instance to connect to.
      this.clusterIdentifier = rdsIdentifier(this.runId);
      this.recorded.clusterIdentifier = this.clusterIdentifier;
      this.recorded.restoredFrom = `db-cluster ${restorable.sourceDbInstanceIdentifier} at ${restorable.restoreTime?.toISOString() ?? 'latest restorable time'}`;
      log(
        `restore: RestoreDBClusterToPointInTime ${restorable.sourceDbInstanceIdentifier} → cluster ${this.clusterIdentifier} at ${restorable.restoreTime?.toISOString() ?? 'the latest restorable time'}`,
      );
      await sendRds(
        client,
        new RestoreDBClusterToPointInTimeCommand({
          ...placement,
          DBClusterIdentifier: this.clusterIdentifier,
          SourceDBClusterIdentifier: restorable.sourceDbInstanceIdentifier,
          ...(restorable.restoreTime ? { RestoreToTime: restorable.restoreTime } : { UseLatestRestorableTime: true }),
        }),
        {
          resource: `point in time of db-cluster ${restorable.sourceDbInstanceIdentifier}`,
          kmsKeyId: restorable.kmsKeyId,
        },
        signal,
      );
      await this.addClusterInstance(
        client,
        restorable.engine,
        instanceSettings.DBInstanceClass,
        tags,
        deadline,
        signal,
      );
    } else if (restorable.kind === 'rds-point-in-time') {
      log(
        `restore: RestoreDBInstanceToPointInTime ${restorable.sourceDbInstanceIdentifier} → ${this.identifier} at ${restorable.restoreTime?.toISOString() ?? 'the latest restorable time'}`,
      );
      this.recorded.restoredFrom = `${restorable.sourceDbInstanceIdentifier} at ${restorable.restoreTime?.toISOString() ?? 'latest restorable time'}`;
      await sendRds(
        client,
        new RestoreDBInstanceToPointInTimeCommand({
          ...instanceSettings,
          SourceDBInstanceIdentifier: restorable.sourceDbInstanceIdentifier,
          TargetDBInstanceIdentifier: this.identifier,
          ...(restorable.restoreTime ? { RestoreTime: restorable.restoreTime } : { UseLatestRestorableTime: true }),
        }),
        `point in time of db-instance ${restorable.sourceDbInstanceIdentifier}`,
        signal,
      );
    } else if (restorable.resource === 'db-snapshot') {
      log(`restore: RestoreDBInstanceFromDBSnapshot ${restorable.snapshotIdentifier} → ${this.identifier}`);
      this.recorded.restoredFrom = restorable.arn || restorable.snapshotIdentifier;
      await sendRds(
        client,
        new RestoreDBInstanceFromDBSnapshotCommand({
          ...instanceSettings,
          DBInstanceIdentifier: this.identifier,
          DBSnapshotIdentifier: restorable.snapshotIdentifier,
        }),
        {
          resource: `snapshot ${restorable.snapshotIdentifier}`,
          kmsKeyId: restorable.kmsKeyId,
          kmsKeyState: restorable.kmsKeyState,
        },
        signal,
      );
    } else {
      // Aurora: the snapshot becomes a cluster, which then needs one instance to connect to.
      this.clusterIdentifier = rdsIdentifier(this.runId);
      this.recorded.clusterIdentifier = this.clusterIdentifier;
      this.recorded.restoredFrom = restorable.arn || restorable.snapshotIdentifier;
      log(`restore: RestoreDBClusterFromSnapshot ${restorable.snapshotIdentifier} → cluster ${this.clusterIdentifier}`);
      await sendRds(
        client,
        new RestoreDBClusterFromSnapshotCommand({
          ...placement,
          DBClusterIdentifier: this.clusterIdentifier,
          SnapshotIdentifier: restorable.snapshotIdentifier,
          Engine: restorable.engine,
          ...(restorable.engineVersion ? { EngineVersion: restorable.engineVersion } : {}),
        }),
        {
          resource: `cluster snapshot ${restorable.snapshotIdentifier}`,
          kmsKeyId: restorable.kmsKeyId,
          kmsKeyState: restorable.kmsKeyState,
        },
        signal,
      );
      await this.addClusterInstance(
        client,
        restorable.engine,
        instanceSettings.DBInstanceClass,
        tags,
        deadline,
        signal,
      );
    }
    log(`restore: waiting for ${this.identifier} to become available (timeout ${this.timeoutSeconds}s)`);
    await waitAvailable(client, instance, deadline, signal);
    const described = await this.describeInstance(client, signal);
    this.described = described;
    this.recordSettings(described);
    this.credentials = await this.login(client, described, deadline, signal);
    if (!options.database && described.DBName) this.database = described.DBName;
    const endpoint = await this.endpointOf(client, described, signal);
    if (options.endpointOverride)
      this.recorded.endpointOverride = `${options.endpointOverride.host}:${options.endpointOverride.port}`;
    this.endpoint = options.endpointOverride ?? endpoint;
    this.version = await connectWhenReady(this.connectionConfig(), deadline, signal);
    log(
      `restore: ${this.identifier} is available; PostgreSQL ${this.version} at ${this.endpoint.host}:${this.endpoint.port}${options.endpointOverride ? ' (endpoint override)' : ''}`,
    );
  }

  /** Waits for the restored Aurora cluster, then creates the one (tagged) instance the drill connects to. */
  private async addClusterInstance(
    client: RDSClient,
    engine: string,
    instanceClass: string,
    tags: ReturnType<typeof drillTags>,
    deadline: Deadline,
    signal?: AbortSignal,
  ): Promise<void> {
    const { CreateDBInstanceCommand } = await rdsSdk();
    await waitAvailable(client, { type: 'db-cluster', identifier: this.clusterIdentifier! }, deadline, signal);
    await sendRds(
      client,
      new CreateDBInstanceCommand({
        DBInstanceIdentifier: this.identifier,
        DBClusterIdentifier: this.clusterIdentifier,
        Engine: engine,
        DBInstanceClass: instanceClass,
        DBParameterGroupName: this.options.parameterGroup,
        PubliclyAccessible: false,
        Tags: tags,
      }),
      `instance of cluster ${this.clusterIdentifier}`,
      signal,
    );
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    try {
      await this.deleteInstance();
    } finally {
      // Released only once the instance is gone (or its deletion failed): until then it counts against the limit.
      if (this.lease) {
        await this.lease.held
          .release()
          .catch((error: unknown) =>
            this.context.log(`teardown: the RDS instance lease could not be released: ${(error as Error).message}`),
          );
        this.lease.close();
      }
    }
  }

  private async deleteInstance(): Promise<void> {
    const { waitUntilDBInstanceDeleted } = await rdsSdk();
    const client = this.client;
    if (!client) return; // nothing was created
    const instance: RdsTarget = { type: 'db-instance', identifier: this.identifier };
    try {
      const outcome = await deleteIfOurs(client, instance, this.runId);
      this.context.log(`teardown: RDS db-instance ${this.identifier}: ${outcome}`);
      if (this.clusterIdentifier) {
        // A cluster cannot be deleted while it has instances.
        if (outcome !== 'gone')
          await waitUntilDBInstanceDeleted(
            { client, maxWaitTime: 1800, minDelay: 5, maxDelay: 30 },
            { DBInstanceIdentifier: this.identifier },
          ).catch(() => {});
        const clusterOutcome = await deleteIfOurs(
          client,
          { type: 'db-cluster', identifier: this.clusterIdentifier },
          this.runId,
        );
        this.context.log(`teardown: RDS db-cluster ${this.clusterIdentifier}: ${clusterOutcome}`);
      }
    } finally {
      if (!this.options.client) client.destroy();
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  private async rds(region: string): Promise<RDSClient> {
    if (this.options.client) {
      await requireRegion(this.options.client, region, 'the recovery point');
      this.client = this.options.client;
    } else {
      this.client = await createRdsClient({ region, maxAttempts: this.options.maxAttempts });
    }
    return this.client;
  }

  private async describeInstance(client: RDSClient, signal?: AbortSignal): Promise<DBInstance> {
    const { DescribeDBInstancesCommand } = await rdsSdk();
    const out = await sendRds(
      client,
      new DescribeDBInstancesCommand({ DBInstanceIdentifier: this.identifier }),
      `db-instance ${this.identifier}`,
      signal,
    );
    return out.DBInstances![0]!;
  }

  private recordSettings(d: DBInstance): void {
    Object.assign(this.recorded, {
      instanceClass: d.DBInstanceClass ?? null,
      subnetGroup: d.DBSubnetGroup?.DBSubnetGroupName ?? this.options.subnetGroup ?? 'default',
      securityGroupIds:
        (d.VpcSecurityGroups ?? [])
          .map((g) => g.VpcSecurityGroupId)
          .filter(Boolean)
          .join(',') || null,
      parameterGroup:
        (d.DBParameterGroups ?? [])
          .map((g) => g.DBParameterGroupName)
          .filter(Boolean)
          .join(',') || null,
      engine: d.Engine ?? null,
      engineVersion: d.EngineVersion ?? null,
      storageEncrypted: d.StorageEncrypted ?? null,
      kmsKeyId: d.KmsKeyId ?? null,
    });
  }

  /** Credentials from the options, or a fresh master password set on our (tag-checked) instance or cluster. */
  private async login(
    client: RDSClient,
    d: DBInstance,
    deadline: Deadline,
    signal?: AbortSignal,
  ): Promise<ResolvedCredentials> {
    const { ModifyDBClusterCommand, ModifyDBInstanceCommand } = await rdsSdk();
    if (this.options.credentials) {
      const resolved = await resolveCredentials(this.options.credentials, this.recorded.region as string, signal);
      this.recorded.credentials = resolved.origin;
      return resolved;
    }
    const username = d.MasterUsername;
    if (!username)
      throw new RestoreDrillError(
        `RDS reports no master user for ${this.identifier}`,
        'give rdsInstance credentials: { username, password } or { secretArn }',
      );
    const password = newMasterPassword();
    if (this.clusterIdentifier) {
      const cluster: RdsTarget = { type: 'db-cluster', identifier: this.clusterIdentifier };
      await requireOurs(client, cluster, this.runId, signal);
      await sendRds(
        client,
        new ModifyDBClusterCommand({
          DBClusterIdentifier: this.clusterIdentifier,
          MasterUserPassword: password,
          ApplyImmediately: true,
        }),
        `db-cluster ${this.clusterIdentifier}`,
        signal,
      );
      await waitAvailable(client, cluster, deadline, signal);
    } else {
      await requireOurs(client, { type: 'db-instance', identifier: this.identifier }, this.runId, signal);
      await sendRds(
        client,
        new ModifyDBInstanceCommand({
          DBInstanceIdentifier: this.identifier,
          MasterUserPassword: password,
          ApplyImmediately: true,
        }),
        `db-instance ${this.identifier}`,
        signal,
      );
      await waitAvailable(client, { type: 'db-instance', identifier: this.identifier }, deadline, signal);
    }
    this.recorded.credentials = 'master password reset for this run';
    return { username, password, origin: 'master password reset for this run' };
  }

  private async endpointOf(
    client: RDSClient,
    d: DBInstance,
    signal?: AbortSignal,
  ): Promise<{ host: string; port: number }> {
    const { DescribeDBClustersCommand } = await rdsSdk();
    let host = d.Endpoint?.Address;
    let port = d.Endpoint?.Port;
    if (this.clusterIdentifier) {
      const out = await sendRds(
        client,
        new DescribeDBClustersCommand({ DBClusterIdentifier: this.clusterIdentifier }),
        `db-cluster ${this.clusterIdentifier}`,
        signal,
      );
      host = out.DBClusters?.[0]?.Endpoint ?? host;
      port = out.DBClusters?.[0]?.Port ?? port;
    }
    if (!host || !port)
      throw new RestoreDrillError(
        `RDS reports no endpoint for ${this.identifier}`,
        'look at the instance in the RDS console',
      );
    this.recorded.endpoint = `${host}:${port}`;
    return { host, port };
  }
}
