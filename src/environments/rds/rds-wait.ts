import { setTimeout as sleep } from 'node:timers/promises';
import type { RDSClient } from '@aws-sdk/client-rds';
import { rdsSdk } from '../../aws/sdk.ts';
import pg from 'pg';
import { InterruptedError, RestoreDrillError } from '../../errors.ts';
import { sendRds } from '../../aws/rds-errors.ts';
import { formatDuration } from '../../util/duration.ts';
import type { RdsTarget } from './rds-guarded-delete.ts';

/** A deadline shared by every wait of one restore, so the whole restore stays under the drill's timeout. */
export interface Deadline {
  readonly at: number;
  /** The configured timeout in seconds, for messages. */
  readonly timeoutSeconds: number;
}

/**
 * Waits with the SDK's waiter until the instance or cluster is `available`, within what is left of the
 * deadline. The waiter treats every error as "not yet", so one explicit DescribeDB* first turns a
 * missing permission into an immediate, clear error instead of a timeout hours later. A timeout or a
 * failure state (`failed`, `incompatible-restore`, …) becomes a one-line error naming the resource, its
 * last status and the timeout.
 *
 * @example
 * await waitAvailable(rds, { type: 'db-instance', identifier }, { at: Date.now() + 7200e3, timeoutSeconds: 7200 });
 */
export async function waitAvailable(
  client: RDSClient,
  target: RdsTarget,
  deadline: Deadline,
  signal?: AbortSignal,
): Promise<void> {
  const { waitUntilDBClusterAvailable, waitUntilDBInstanceAvailable } = await rdsSdk();
  const first = await currentStatus(client, target, signal);
  if (first === 'available') return;
  const remaining = Math.max(0, (deadline.at - Date.now()) / 1000);
  // The waiter wants maxWaitTime > minDelay; RDS restores take minutes, so poll every 15 s to 1 min.
  const minDelay = Math.max(0.1, Math.min(15, remaining / 4));
  const config = {
    client,
    maxWaitTime: Math.max(minDelay * 2, remaining),
    minDelay,
    maxDelay: Math.max(minDelay, Math.min(60, remaining / 2)),
    abortSignal: signal,
  };
  try {
    if (target.type === 'db-instance')
      await waitUntilDBInstanceAvailable(config, { DBInstanceIdentifier: target.identifier });
    else await waitUntilDBClusterAvailable(config, { DBClusterIdentifier: target.identifier });
  } catch (error) {
    if (signal?.aborted) throw new InterruptedError(signal.reason);
    const last = await currentStatus(client, target).catch(() => 'unknown');
    if ((error as Error).name === 'TimeoutError') {
      throw new RestoreDrillError(
        `RDS ${target.type} ${target.identifier} did not become available within the timeout of ${formatDuration(deadline.timeoutSeconds)} (last status: ${last})`,
        'raise the rdsInstance timeout, or look at the RDS events of the instance; restore-drill deletes it at teardown',
      );
    }
    throw new RestoreDrillError(
      `RDS ${target.type} ${target.identifier} ended in status ${last} instead of available`,
      `see the RDS events of ${target.identifier}; restore-drill deletes it at teardown`,
    );
  }
}

async function currentStatus(client: RDSClient, target: RdsTarget, signal?: AbortSignal): Promise<string> {
  const { DescribeDBClustersCommand, DescribeDBInstancesCommand } = await rdsSdk();
  if (target.type === 'db-instance') {
    const out = await sendRds(
      client,
      new DescribeDBInstancesCommand({ DBInstanceIdentifier: target.identifier }),
      `${target.type} ${target.identifier}`,
      signal,
    );
    return out.DBInstances?.[0]?.DBInstanceStatus ?? 'unknown';
  }
  const out = await sendRds(
    client,
    new DescribeDBClustersCommand({ DBClusterIdentifier: target.identifier }),
    `${target.type} ${target.identifier}`,
    signal,
  );
  return out.DBClusters?.[0]?.Status ?? 'unknown';
}

/** Errors that go away on their own shortly after an instance becomes available (DNS, a password being applied). */
const TRANSIENT = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'ECONNRESET',
  'EHOSTUNREACH',
  '28P01',
  '57P03',
]);

/**
 * Connects to the restored database, retrying what is transient right after a restore (the endpoint's
 * DNS name not resolving yet, a new master password still being applied) until the deadline; returns the
 * server version. A lasting failure names the endpoint and the likely cause, never the password.
 */
export async function connectWhenReady(
  config: pg.ClientConfig,
  deadline: Deadline,
  signal?: AbortSignal,
): Promise<string> {
  let delay = 1000;
  for (;;) {
    const client = new pg.Client({ ...config, connectionTimeoutMillis: 10_000 });
    try {
      await client.connect();
      const { rows } = await client.query<{ v: string }>("select current_setting('server_version') as v");
      return rows[0]!.v.split(' ')[0]!;
    } catch (error) {
      const code = (error as { code?: string }).code ?? '';
      const lasting = !TRANSIENT.has(code) || Date.now() + delay > deadline.at;
      if (lasting) {
        throw new RestoreDrillError(
          `cannot connect to the restored database at ${config.host}:${config.port} as ${config.user}: ${(error as Error).message.split('\n')[0]}`,
          code === '28P01'
            ? 'check the rdsInstance credentials (they must be those kept in the snapshot, or leave them out to reset the password)'
            : 'the drill must reach the instance: run it inside the VPC (or via VPN) and allow its address in the security groups',
        );
      }
    } finally {
      await client.end().catch(() => {});
    }
    await sleep(delay, undefined, { signal }).catch(() => {
      throw new InterruptedError(signal?.reason);
    });
    delay = Math.min(delay * 2, 15_000);
  }
}
