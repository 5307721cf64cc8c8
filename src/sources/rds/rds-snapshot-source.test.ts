import {
  CopyDBSnapshotCommand,
  CreateDBClusterCommand,
  CreateDBClusterSnapshotCommand,
  DeleteDBSnapshotCommand,
  type RDSClient,
} from '@aws-sdk/client-rds';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ConfigError, RestoreDrillError } from '../../errors.ts';
import { startMotoServer, type MotoServer } from '../../testing/moto-server.ts';
import { createProductionInstance, motoRdsClient, throttleFirstCalls, useMotoAwsEnv } from '../../testing/rds-moto.ts';
import { createRdsClient, parseArn, RDS_MAX_ATTEMPTS } from '../../aws/rds-client.ts';
import { rdsPointInTime } from './rds-point-in-time.ts';
import { rdsSnapshotSource } from './rds-snapshot-source.ts';
import type { SourceContext } from '../source.ts';

const KEY = 'arn:aws:kms:us-east-1:123456789012:key/0f1e2d3c-aaaa-bbbb-cccc-111122223333';
let moto: MotoServer;
let restoreEnv: () => void;
let east: RDSClient;
let west: RDSClient;
const logs: string[] = [];
const context: SourceContext = { workDir: '/nonexistent', log: (line) => logs.push(line) };

async function rejection(promise: Promise<unknown>): Promise<Error> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(Error);
  expect((error as Error).message).not.toContain('\n');
  return error as Error;
}

beforeAll(async () => {
  moto = await startMotoServer();
  restoreEnv = useMotoAwsEnv(moto);
  east = motoRdsClient(moto, 'us-east-1');
  west = motoRdsClient(moto, 'eu-west-1');
  await createProductionInstance(east, 'shop-prod', { kmsKeyId: KEY, snapshots: ['shop-manual-1', 'shop-manual-2'] });
  await west.send(
    new CopyDBSnapshotCommand({
      SourceDBSnapshotIdentifier: 'arn:aws:rds:us-east-1:123456789012:snapshot:shop-manual-2',
      TargetDBSnapshotIdentifier: 'shop-manual-2-dr',
    }),
  );
  await east.send(
    new CreateDBClusterCommand({
      DBClusterIdentifier: 'ledger-prod',
      Engine: 'aurora-postgresql',
      MasterUsername: 'ledger',
      MasterUserPassword: 'aurora-password-1',
      StorageEncrypted: true,
    }),
  );
  await east.send(
    new CreateDBClusterSnapshotCommand({
      DBClusterIdentifier: 'ledger-prod',
      DBClusterSnapshotIdentifier: 'ledger-manual-1',
    }),
  );
});

afterAll(async () => {
  east?.destroy();
  west?.destroy();
  await moto?.stop();
  restoreEnv?.();
});

describe('rdsSnapshotSource', () => {
  test('lists automated and manual DB snapshots, newest first, with the facts an auditor asks about', async () => {
    const source = rdsSnapshotSource({ dbInstanceIdentifier: 'shop-prod' });
    expect(source.kind).toBe('rds-snapshot');
    expect(source.describe()).toBe('rds-snapshot db-instance shop-prod');
    const points = await source.list(context);
    expect(points.map((p) => p.id).sort()).toEqual(
      ['shop-manual-1', 'shop-manual-2', expect.stringMatching(/^rds:shop-prod-\d{4}-/)].sort(),
    );
    for (let i = 1; i < points.length; i++)
      expect(points[i - 1]!.createdAt.getTime()).toBeGreaterThanOrEqual(points[i]!.createdAt.getTime());
    const manual = points.find((p) => p.id === 'shop-manual-1')!;
    expect(manual).toMatchObject({
      source: 'rds-snapshot',
      createdAtBasis: 'rds-original-snapshot-create-time',
      facts: {
        resource: 'db-snapshot',
        arn: 'arn:aws:rds:us-east-1:123456789012:snapshot:shop-manual-1',
        region: 'us-east-1',
        account: '123456789012',
        snapshotType: 'manual',
        dbInstanceIdentifier: 'shop-prod',
        engine: 'postgres',
        engineVersion: '16.4',
        encrypted: true,
        kmsKeyId: KEY,
      },
    });
    expect(points.find((p) => p.id.startsWith('rds:'))!.facts.snapshotType).toBe('automated');
  });

  test('a copy in another region keeps the original time and records when it was copied; inRegion lists it', async () => {
    const west = rdsSnapshotSource({ dbInstanceIdentifier: 'shop-prod', region: 'us-east-1' }).inRegion('eu-west-1');
    expect(west.describe()).toBe('rds-snapshot db-instance shop-prod (eu-west-1)');
    const [copy, ...others] = await west.list(context);
    expect(others).toEqual([]);
    const original = (await rdsSnapshotSource({ dbInstanceIdentifier: 'shop-prod' }).list(context)).find(
      (p) => p.id === 'shop-manual-2',
    )!;
    expect(copy).toMatchObject({
      id: 'shop-manual-2-dr',
      facts: { region: 'eu-west-1', arn: 'arn:aws:rds:eu-west-1:123456789012:snapshot:shop-manual-2-dr' },
    });
    expect(copy!.createdAt).toEqual(original.createdAt);
    expect(Date.parse(String(copy!.facts.snapshotCreateTime))).toBeGreaterThanOrEqual(original.createdAt.getTime());
  });

  test('lists Aurora cluster snapshots', async () => {
    const points = await rdsSnapshotSource({ dbClusterIdentifier: 'ledger-prod' }).list(context);
    const manual = points.find((p) => p.id === 'ledger-manual-1');
    expect(manual).toMatchObject({
      facts: {
        resource: 'db-cluster-snapshot',
        dbClusterIdentifier: 'ledger-prod',
        engine: 'aurora-postgresql',
        encrypted: true,
        region: 'us-east-1',
      },
    });
  });

  test('fetch re-reads the snapshot and hands the environment what it restores, without a digest', async () => {
    const source = rdsSnapshotSource({ dbInstanceIdentifier: 'shop-prod' });
    const point = (await source.list(context)).find((p) => p.id === 'shop-manual-1')!;
    const restorable = await source.fetch(point, context);
    expect(restorable).toEqual({
      kind: 'rds-snapshot',
      resource: 'db-snapshot',
      snapshotIdentifier: 'shop-manual-1',
      arn: 'arn:aws:rds:us-east-1:123456789012:snapshot:shop-manual-1',
      region: 'us-east-1',
      engine: 'postgres',
      engineVersion: '16.4',
      encrypted: true,
      kmsKeyId: KEY,
    });
    expect(restorable.digest).toBeUndefined();
  });

  test('fetch of a snapshot deleted since the listing is a clear error', async () => {
    await createProductionInstance(east, 'brief', { snapshots: ['brief-1'] });
    const source = rdsSnapshotSource({ dbInstanceIdentifier: 'brief', snapshotType: 'manual' });
    const [point] = await source.list(context);
    await east.send(new DeleteDBSnapshotCommand({ DBSnapshotIdentifier: 'brief-1' }));
    const error = await rejection(source.fetch(point!, context));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toBe('RDS snapshot brief-1 is gone now');
  });

  test('an empty snapshot list is a one-line ConfigError naming the database and region', async () => {
    const error = await rejection(
      rdsSnapshotSource({ dbInstanceIdentifier: 'no-such-db', region: 'eu-west-1' }).list(context),
    );
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toBe('no available RDS snapshots of db-instance no-such-db in eu-west-1');
    expect((error as ConfigError).hint).toMatch(/backup retention/);
  });

  test('needs an instance or cluster to list', () => {
    expect(() => rdsSnapshotSource({})).toThrow(ConfigError);
  });

  test('throttling is retried by the SDK with backoff until the listing succeeds', async () => {
    const client = await createRdsClient({ region: 'us-east-1' });
    const throttled = throttleFirstCalls(client, 'DescribeDBSnapshots', 2);
    const points = await rdsSnapshotSource({ dbInstanceIdentifier: 'shop-prod', client }).list(context);
    expect(points.length).toBe(3);
    expect(throttled).toEqual({ seen: 3, injected: 2 });
    expect(await client.config.retryStrategy()).toMatchObject({ mode: 'standard' });
    expect(await client.config.maxAttempts()).toBe(RDS_MAX_ATTEMPTS);
    client.destroy();
  });

  test('throttling that outlasts every attempt is a one-line error naming the action', async () => {
    const client = await createRdsClient({ region: 'us-east-1', maxAttempts: 2 });
    const throttled = throttleFirstCalls(client, 'DescribeDBSnapshots', 100);
    const error = await rejection(rdsSnapshotSource({ dbInstanceIdentifier: 'shop-prod', client }).list(context));
    expect(error).toBeInstanceOf(RestoreDrillError);
    expect(error.message).toBe(
      'RDS kept throttling rds:DescribeDBSnapshots in us-east-1 after 2 attempts with backoff',
    );
    expect(throttled.seen).toBe(2);
    client.destroy();
  });
});

describe('rdsPointInTime', () => {
  test("lists one point: the instance's latest restorable time, recorded as offered", async () => {
    const source = rdsPointInTime({ dbInstanceIdentifier: 'shop-prod' });
    const [point, ...rest] = await source.list(context);
    expect(rest).toEqual([]);
    expect(point).toMatchObject({
      source: 'rds-point-in-time',
      id: 'shop-prod@latest',
      createdAtBasis: 'rds-latest-restorable-time',
      facts: {
        dbInstanceIdentifier: 'shop-prod',
        restoreTarget: 'latest',
        backupRetentionPeriodDays: 7,
        encrypted: true,
        kmsKeyId: KEY,
        region: 'us-east-1',
      },
    });
    expect(point!.facts.latestRestorableTime).toBe(point!.createdAt.toISOString());
    const restorable = await source.fetch(point!, context);
    expect(restorable).toMatchObject({
      kind: 'rds-point-in-time',
      sourceDbInstanceIdentifier: 'shop-prod',
      restoreTime: null,
      region: 'us-east-1',
    });
    expect(restorable.latestRestorableTime).toEqual(point!.createdAt);
  });

  test('a target time is the point; one later than RDS offers is refused', async () => {
    const target = new Date(Date.now() - 3600_000);
    const [point] = await rdsPointInTime({ dbInstanceIdentifier: 'shop-prod', target }).list(context);
    expect(point).toMatchObject({
      id: `shop-prod@${target.toISOString()}`,
      createdAt: target,
      createdAtBasis: 'rds-restore-target',
    });
    const future = new Date(Date.now() + 86400_000);
    const error = await rejection(rdsPointInTime({ dbInstanceIdentifier: 'shop-prod', target: future }).list(context));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toMatch(/^db-instance shop-prod can be restored up to .+, not to /);
  });

  test('an instance without automated backups has no point in time', async () => {
    await createProductionInstance(east, 'no-backups', { backupRetentionDays: 0 });
    const error = await rejection(rdsPointInTime({ dbInstanceIdentifier: 'no-backups' }).list(context));
    expect(error.message).toBe('db-instance no-backups has no automated backups, so no point in time to restore');
  });

  test('an unknown instance is a ConfigError naming it', async () => {
    const error = await rejection(rdsPointInTime({ dbInstanceIdentifier: 'ghost' }).list(context));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toBe('RDS found no db-instance ghost in us-east-1 (DBInstanceNotFoundFault)');
  });
});

test('parseArn splits RDS ARNs, including automated snapshot names with a colon', () => {
  expect(parseArn('arn:aws:rds:eu-west-1:123456789012:snapshot:rds:shop-2026-11-23-03-10')).toEqual({
    partition: 'aws',
    service: 'rds',
    region: 'eu-west-1',
    account: '123456789012',
    resourceType: 'snapshot',
    name: 'rds:shop-2026-11-23-03-10',
  });
  expect(parseArn('shop-1')).toBeNull();
});
