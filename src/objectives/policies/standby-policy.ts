import type { DBInstance, RDSClient } from '@aws-sdk/client-rds';
import { rdsSdk } from '../../aws/sdk.ts';
import { ConfigError } from '../../errors.ts';
import { createRdsClient } from '../../aws/rds-client.ts';
import { RdsNotFoundError, sendRds } from '../../aws/rds-errors.ts';
import type { CheckResult } from '../../model/report.ts';
import { formatDuration, parseDuration, type DurationString } from '../../util/duration.ts';
import type { Policy, PolicyContext } from '../policy.ts';

/** Options of {@link standbyPolicy}: which instance, and the standby posture it must have. */
export interface StandbyPolicyOptions {
  /** The production DB instance. */
  readonly dbInstanceIdentifier: string;
  /** Its region; default the SDK's. */
  readonly region?: string;
  /** A Multi-AZ standby must be on (true) — or off (false); default: not checked. */
  readonly multiAz?: boolean;
  /** At least this many read replicas, each `available`; default: not checked. */
  readonly readReplicas?: number;
  /** The most replica lag allowed. restore-drill does not read CloudWatch: the check says so (`skipped`). */
  readonly maxReplicaLag?: DurationString | number;
  readonly client?: RDSClient;
}

/**
 * Standby posture of an RDS instance, read with DescribeDBInstances: Multi-AZ on, and at least N read
 * replicas that are `available` (each one described; a replica in another region is named by its ARN and
 * described there). Replica lag lives in CloudWatch (`ReplicaLag`), which restore-drill does not read:
 * with `maxReplicaLag` the report carries a `skipped` check saying the lag was not verified — never a pass.
 *
 * @example
 * standbyPolicy({ dbInstanceIdentifier: 'shop-prod', region: 'eu-west-1', multiAz: true, readReplicas: 1, maxReplicaLag: '5m' });
 */
export function standbyPolicy(options: StandbyPolicyOptions): Policy {
  const { dbInstanceIdentifier: id } = options;
  if (!id)
    throw new ConfigError(
      'standbyPolicy needs dbInstanceIdentifier',
      "e.g. standbyPolicy({ dbInstanceIdentifier: 'shop-prod', multiAz: true })",
    );
  if (options.multiAz === undefined && options.readReplicas === undefined && options.maxReplicaLag === undefined) {
    throw new ConfigError('standbyPolicy checks nothing', 'give multiAz, readReplicas or maxReplicaLag');
  }
  if (options.readReplicas !== undefined && (!Number.isInteger(options.readReplicas) || options.readReplicas < 0)) {
    throw new ConfigError(`standbyPolicy readReplicas must be a whole number ≥ 0, not ${options.readReplicas}`);
  }
  const lag =
    options.maxReplicaLag === undefined ? null : parseDuration(options.maxReplicaLag, 'standbyPolicy maxReplicaLag');
  return {
    name: 'standby',
    async evaluate(context: PolicyContext): Promise<CheckResult[]> {
      const signal = context.sourceContext.signal;
      const client = options.client ?? (await createRdsClient(options.region ? { region: options.region } : {}));
      try {
        const instance = await describe(client, id, signal);
        const checks: CheckResult[] = [];
        if (options.multiAz !== undefined) {
          checks.push({
            name: `policy standby multi-AZ ${id}`,
            status: instance.MultiAZ === options.multiAz ? 'passed' : 'failed',
            expected: options.multiAz ? 'Multi-AZ on' : 'Multi-AZ off',
            actual: instance.MultiAZ ? 'Multi-AZ on' : 'Multi-AZ off',
            ...(instance.SecondaryAvailabilityZone
              ? { detail: `standby in ${instance.SecondaryAvailabilityZone}` }
              : {}),
          });
        }
        const replicaIds = instance.ReadReplicaDBInstanceIdentifiers ?? [];
        if (options.readReplicas !== undefined) {
          const states = await Promise.all(
            replicaIds.map(async (r) => `${r}: ${(await replicaStatus(client, r, signal)) ?? 'gone'}`),
          );
          const available = states.filter((s) => s.endsWith(': available')).length;
          checks.push({
            name: `policy standby read replicas ${id}`,
            status: available >= options.readReplicas ? 'passed' : 'failed',
            expected: `≥ ${options.readReplicas} available read replica(s)`,
            actual: `${available} available`,
            detail: states.length ? states.join(', ') : 'no read replicas',
          });
        }
        if (lag !== null) {
          checks.push({
            name: `policy standby replica lag ${id}`,
            status: 'skipped',
            expected: `replica lag ≤ ${formatDuration(lag)}`,
            actual: null,
            detail: 'not verified: replica lag is a CloudWatch metric (ReplicaLag), which restore-drill does not read',
          });
        }
        return checks;
      } finally {
        if (!options.client) client.destroy();
      }
    },
  };
}

async function describe(client: RDSClient, id: string, signal?: AbortSignal): Promise<DBInstance> {
  const { DescribeDBInstancesCommand } = await rdsSdk();
  const out = await sendRds(
    client,
    new DescribeDBInstancesCommand({ DBInstanceIdentifier: id }),
    `db-instance ${id}`,
    signal,
  );
  return out.DBInstances![0]!;
}

/** A replica's status; one in another region (named by ARN) is described there. */
async function replicaStatus(client: RDSClient, replica: string, signal?: AbortSignal): Promise<string | undefined> {
  const region = /^arn:[^:]+:rds:([^:]+):/.exec(replica)?.[1];
  const own = await client.config.region();
  const there = region && region !== own ? await createRdsClient({ region }) : client;
  try {
    return (await describe(there, replica, signal)).DBInstanceStatus;
  } catch (error) {
    if (error instanceof RdsNotFoundError) return undefined;
    throw error;
  } finally {
    if (there !== client) there.destroy();
  }
}
