import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateDBClusterCommand,
  CreateDBClusterSnapshotCommand,
  CreateDBInstanceCommand,
  CreateDBParameterGroupCommand,
  DescribeDBClustersCommand,
  DescribeDBInstancesCommand,
  ListTagsForResourceCommand,
  StopDBInstanceCommand,
  type RDSClient,
} from '@aws-sdk/client-rds';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { runDrill } from '../../drill/run-drill.ts';
import { ConfigError, RestoreDrillError } from '../../errors.ts';
import { coveragePolicy } from '../../objectives/policies/coverage-policy.ts';
import { encryptionPolicy } from '../../objectives/policies/encryption-policy.ts';
import { freshnessPolicy } from '../../objectives/policies/freshness-policy.ts';
import { generateKeyPair } from '../../evidence/signing-key.ts';
import { rdsPointInTime } from '../../sources/rds/rds-point-in-time.ts';
import { rdsSnapshotSource } from '../../sources/rds/rds-snapshot-source.ts';
import type { SourceContext } from '../../sources/source.ts';
import type { Restorable } from '../../model/recovery-point.ts';
import { startMotoServer, type MotoServer } from '../../testing/moto-server.ts';
import {
  afterCall,
  createMotoIamUser,
  createProductionInstance,
  motoRdsClient,
  throttleFirstCalls,
  standIn,
  useMotoAwsEnv,
} from '../../testing/rds-moto.ts';
import { startShopDatabase, type ShopDatabase } from '../../testing/shop-database.ts';
import { redact } from '../../util/redact.ts';
import { writeMarker } from '../../markers/take-marker.ts';
import type { EnvironmentContext, StartedEnvironment } from '../environment.ts';
import { newRunId } from '../labels.ts';
import { deleteIfOurs } from './rds-guarded-delete.ts';
import { RDS_LIMIT_CHECK, rdsInstance } from './rds-instance.ts';
import { RDS_EXPOSURE_CHECK } from './rds-exposure.ts';
import { acquireLease } from '../../evidence/lease-pool.ts';
import { directoryLeaseObjects } from '../../evidence/lease-directory.ts';
import { RDS_TAG, rdsIdentifier } from './rds-tags.ts';

const KEY = 'arn:aws:kms:us-east-1:123456789012:key/0f1e2d3c-aaaa-bbbb-cccc-111122223333';
let moto: MotoServer;
let restoreEnv: () => void;
let rds: RDSClient;
let shop: ShopDatabase;
let dir: string;
let signingKey: string;
const logs: string[] = [];
const log = (line: string) => logs.push(line);
const sourceContext: SourceContext = { workDir: '/nonexistent', log };

async function instanceExists(identifier: string, client = rds): Promise<boolean> {
  return client.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: identifier })).then(
    () => true,
    (error: Error) => {
      if (error.name === 'DBInstanceNotFoundFault') return false;
      throw error;
    },
  );
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(Error);
  expect((error as Error).message).not.toContain('\n');
  return error as Error;
}

async function snapshotRestorable(id = 'shop-nightly'): Promise<Restorable> {
  const source = rdsSnapshotSource({ dbInstanceIdentifier: 'shop-prod', snapshotType: 'manual' });
  const point = (await source.list(sourceContext)).find((p) => p.id === id)!;
  return source.fetch(point, sourceContext);
}

function envContext(runId = newRunId()): EnvironmentContext {
  return { runId, drillName: 'rds instance test', log };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rds-instance-test-'));
  signingKey = generateKeyPair(join(dir, 'keys')).privatePath;
  moto = await startMotoServer();
  restoreEnv = useMotoAwsEnv(moto);
  rds = motoRdsClient(moto);
  shop = await startShopDatabase();
  // "Production" gets a marker before its snapshot is taken, so the restored copy can be checked against it.
  await writeMarker(shop.environment.connectionConfig());
  await createProductionInstance(rds, 'shop-prod', { kmsKeyId: KEY, snapshots: ['shop-nightly'] });
  await rds.send(
    new CreateDBParameterGroupCommand({
      DBParameterGroupName: 'drill-params',
      DBParameterGroupFamily: 'postgres16',
      Description: 'restore drills',
    }),
  );
});

afterAll(async () => {
  rds?.destroy();
  await moto?.stop();
  await shop?.stop();
  restoreEnv?.();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('a full RDS drill: snapshot → tagged temporary instance → markers verified → report with the settings used → instance deleted', async () => {
  let seenInstance: string | undefined;
  let tags: Record<string, string> = {};
  const result = await runDrill({
    name: 'shop from its nightly RDS snapshot',
    log,
    reportDir: join(dir, 'reports'),
    signingKey,
    source: rdsSnapshotSource({ dbInstanceIdentifier: 'shop-prod', snapshotType: 'manual' }),
    environment: rdsInstance({
      ...standIn(shop),
      instanceClass: 'db.r6g.large',
      securityGroupIds: ['sg-0drill'],
      parameterGroup: 'drill-params',
      tags: { 'cost-center': 'dr' },
    }),
    policies: [
      freshnessPolicy({ maxAge: '3h' }),
      coveragePolicy([{ maxGap: '3h', within: '1h' }]),
      encryptionPolicy({ kmsKeyId: KEY }),
    ],
    objectives: { rto: '8h', rpo: '3h' },
    body: async ({ db, check, environment }) => {
      seenInstance = String(environment.facts?.instanceIdentifier);
      const arn = (await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: seenInstance })))
        .DBInstances![0]!.DBInstanceArn;
      tags = Object.fromEntries(
        ((await rds.send(new ListTagsForResourceCommand({ ResourceName: arn }))).TagList ?? []).map((t) => [
          t.Key!,
          t.Value!,
        ]),
      );
      await check('every order belongs to a customer', async () => {
        const { rows } = await db.query(
          'select count(*)::int as n from orders o left join customers c on c.id = o.customer_id where c.id is null',
        );
        expect(rows[0].n).toBe(0);
      });
    },
  });
  expect(result.failedChecks).toEqual([]);
  expect(result.status).toBe('passed');
  const names = result.report.checks.map((c) => c.name);
  expect(names).toEqual(
    expect.arrayContaining([
      'policy freshness',
      'policy encryption',
      'restore completed',
      'markers present',
      'every order belongs to a customer',
      'objective RTO',
      'objective RPO',
    ]),
  );
  expect(result.report.checks.filter((c) => c.table).length).toBeGreaterThan(5);
  expect(result.report.objectives.rpo.basis).toBe('marker');
  // DescribeDBInstances (moto) says where the instance sits; the restored copy says what could connect out.
  expect(result.report.checks.find((c) => c.name === RDS_EXPOSURE_CHECK)).toMatchObject({
    status: 'passed',
    actual: 'private, security groups sg-0drill',
    detail: expect.stringContaining(
      'no extension or foreign server that connects out is installed in database restored',
    ),
  });

  expect(seenInstance).toBe(rdsIdentifier(result.report.runId));
  expect(tags).toMatchObject({
    [RDS_TAG.owner]: 'restore-drill',
    [RDS_TAG.runId]: result.report.runId,
    [RDS_TAG.drill]: 'shop from its nightly RDS snapshot',
    'cost-center': 'dr',
  });
  expect(Date.parse(tags[RDS_TAG.expiresAt]!)).toBeGreaterThan(Date.parse(result.report.startedAt));

  expect(result.report.recoveryPoint).toMatchObject({
    source: 'rds-snapshot',
    id: 'shop-nightly',
    digest: null,
    facts: { encrypted: true, kmsKeyId: KEY },
  });
  expect(result.report.environment).toMatchObject({
    kind: 'rds-instance',
    version: shop.environment.version,
    facts: {
      region: 'us-east-1',
      instanceIdentifier: seenInstance,
      instanceClass: 'db.r6g.large',
      securityGroupIds: 'sg-0drill',
      parameterGroup: 'drill-params',
      subnetGroup: 'default',
      restoredFrom: 'arn:aws:rds:us-east-1:123456789012:snapshot:shop-nightly',
      endpoint: expect.stringMatching(/\.rds\.amazonaws\.com:5432$/),
      endpointOverride: `${standIn(shop).endpointOverride!.host}:${standIn(shop).endpointOverride!.port}`,
      credentials: 'drill config',
    },
  });
  // Torn down: deleted in moto. The stand-in database's password appears nowhere in the report.
  expect(await instanceExists(seenInstance!)).toBe(false);
  const written = await readFile(result.reportPath, 'utf8');
  expect(Buffer.from(JSON.parse(written).payload, 'base64').toString()).not.toContain(
    String(shop.environment.connectionConfig().password),
  );
  expect(logs.join('\n')).not.toContain(String(shop.environment.connectionConfig().password));
});

test('a point-in-time restore: RestoreDBInstanceToPointInTime into a tagged instance, recording what was restored', async () => {
  const source = rdsPointInTime({ dbInstanceIdentifier: 'shop-prod' });
  const [point] = await source.list(sourceContext);
  await using env = await rdsInstance(standIn(shop)).start(envContext());
  await env.restore(await source.fetch(point!, sourceContext), { log });
  expect(env.facts).toMatchObject({
    restoredFrom: 'shop-prod at latest restorable time',
    instanceClass: 'db.t3.medium',
  });
  const identifier = String(env.facts!.instanceIdentifier);
  expect(await instanceExists(identifier)).toBe(true);
  await env.stop();
  expect(await instanceExists(identifier)).toBe(false);
});

test('a point-in-time restore to a given time sends that RestoreTime and records it', async () => {
  const [latest] = await rdsPointInTime({ dbInstanceIdentifier: 'shop-prod' }).list(sourceContext);
  const target = new Date(Date.parse(String(latest!.facts.latestRestorableTime)) - 60_000);
  const source = rdsPointInTime({ dbInstanceIdentifier: 'shop-prod', target });
  const [point] = await source.list(sourceContext);
  expect(point).toMatchObject({
    id: `shop-prod@${target.toISOString()}`,
    createdAt: target,
    createdAtBasis: 'rds-restore-target',
  });
  const sent: unknown[] = [];
  const client = motoRdsClient(moto);
  client.middlewareStack.add((next, context) => async (args) => {
    if (context.commandName === 'RestoreDBInstanceToPointInTimeCommand') sent.push(args.input);
    return next(args);
  });
  try {
    await using env = await rdsInstance({ ...standIn(shop), client }).start(envContext());
    await env.restore(await source.fetch(point!, sourceContext), { log });
    expect(sent).toEqual([expect.objectContaining({ SourceDBInstanceIdentifier: 'shop-prod', RestoreTime: target })]);
    expect(sent[0]).not.toHaveProperty('UseLatestRestorableTime');
    expect(env.facts).toMatchObject({ restoredFrom: `shop-prod at ${target.toISOString()}` });
    const identifier = String(env.facts!.instanceIdentifier);
    expect(await instanceExists(identifier)).toBe(true);
    await env.stop();
    expect(await instanceExists(identifier)).toBe(false);
  } finally {
    client.destroy();
  }
});

test('throttled restore, wait and delete calls are retried with backoff: the instance is made, used and deleted', async () => {
  const client = motoRdsClient(moto);
  const throttled = ['RestoreDBInstanceFromDBSnapshot', 'DescribeDBInstances', 'DeleteDBInstance'].map(
    (action) => [action, throttleFirstCalls(client, action, 2)] as const,
  );
  try {
    await using env = await rdsInstance({ ...standIn(shop), client }).start(envContext());
    await env.restore(await snapshotRestorable(), { log });
    const identifier = String(env.facts!.instanceIdentifier);
    expect(await instanceExists(identifier)).toBe(true);
    await env.stop();
    expect(await instanceExists(identifier)).toBe(false);
    for (const [action, state] of throttled) {
      expect(state.injected, action).toBe(2);
      expect(state.seen, action).toBeGreaterThanOrEqual(3); // two throttled, then the call that went through
    }
  } finally {
    client.destroy();
  }
});

test('a point-in-time target later than RDS can restore to is a one-line ConfigError naming both times', async () => {
  const error = await rejection(
    rdsPointInTime({ dbInstanceIdentifier: 'shop-prod', target: new Date(Date.now() + 3600_000) }).list(sourceContext),
  );
  expect(error.message).toMatch(/^db-instance shop-prod can be restored up to \S+, not to \S+$/);
});

test('an Aurora cluster snapshot becomes a temporary cluster with one instance; both are deleted', async () => {
  await rds.send(
    new CreateDBClusterCommand({
      DBClusterIdentifier: 'ledger-prod',
      Engine: 'aurora-postgresql',
      MasterUsername: 'ledger',
      MasterUserPassword: 'aurora-password-1',
    }),
  );
  await rds.send(
    new CreateDBClusterSnapshotCommand({
      DBClusterIdentifier: 'ledger-prod',
      DBClusterSnapshotIdentifier: 'ledger-manual-1',
    }),
  );
  const source = rdsSnapshotSource({ dbClusterIdentifier: 'ledger-prod', snapshotType: 'manual' });
  const [point] = await source.list(sourceContext);
  const env = await rdsInstance(standIn(shop)).start(envContext());
  try {
    await env.restore(await source.fetch(point!, sourceContext), { log });
    expect(env.facts).toMatchObject({
      clusterIdentifier: env.facts!.instanceIdentifier,
      restoredFrom: 'arn:aws:rds:us-east-1:123456789012:cluster-snapshot:ledger-manual-1',
    });
  } finally {
    await env.stop();
  }
  const clusters = (await rds.send(new DescribeDBClustersCommand({}))).DBClusters!.map((c) => c.DBClusterIdentifier);
  expect(clusters).toEqual(['ledger-prod']);
  expect(await instanceExists(String(env.facts!.instanceIdentifier))).toBe(false);
});

test('an Aurora point in time: RestoreDBClusterToPointInTime into a temporary cluster with one instance; both are deleted', async () => {
  await rds.send(
    new CreateDBClusterCommand({
      DBClusterIdentifier: 'books-prod',
      Engine: 'aurora-postgresql',
      MasterUsername: 'books',
      MasterUserPassword: 'aurora-password-2',
      BackupRetentionPeriod: 7,
    }),
  );
  const source = rdsPointInTime({ dbClusterIdentifier: 'books-prod' });
  expect(source.describe()).toBe('rds-point-in-time db-cluster books-prod at latest');
  const [point] = await source.list(sourceContext);
  expect(point).toMatchObject({
    id: 'books-prod@latest',
    createdAtBasis: 'rds-latest-restorable-time',
    facts: { resource: 'db-cluster-point-in-time', dbClusterIdentifier: 'books-prod', engine: 'aurora-postgresql' },
  });
  const env = await rdsInstance(standIn(shop)).start(envContext());
  try {
    await env.restore(await source.fetch(point!, sourceContext), { log });
    expect(env.facts).toMatchObject({
      clusterIdentifier: env.facts!.instanceIdentifier,
      restoredFrom: 'db-cluster books-prod at latest restorable time',
    });
    const restored = (
      await rds.send(new DescribeDBClustersCommand({ DBClusterIdentifier: String(env.facts!.clusterIdentifier) }))
    ).DBClusters![0]!;
    expect(restored.DBClusterMembers?.map((m) => m.DBInstanceIdentifier)).toEqual([env.facts!.instanceIdentifier]);
  } finally {
    await env.stop();
  }
  const clusters = (await rds.send(new DescribeDBClustersCommand({}))).DBClusters!.map((c) => c.DBClusterIdentifier);
  expect(clusters).not.toContain(env.facts!.clusterIdentifier);
  expect(await instanceExists(String(env.facts!.instanceIdentifier))).toBe(false);
  expect(() => rdsPointInTime({ dbInstanceIdentifier: 'a', dbClusterIdentifier: 'b' })).toThrow(ConfigError);
});

describe('credentials', () => {
  test("by default a fresh master password is set on the temporary instance (never logged) and used as the snapshot's master user", async () => {
    const client = motoRdsClient(moto);
    let applied: string | undefined;
    // moto records the new password; the stand-in PostgreSQL gets it too, as RDS would apply it.
    afterCall(client, 'ModifyDBInstance', async (input) => {
      applied = String(input.MasterUserPassword);
      const admin = new pg.Client(shop.environment.connectionConfig());
      await admin.connect();
      await admin.query(`drop role if exists shop_admin; create role shop_admin login superuser password '${applied}'`);
      await admin.end();
    });
    const { endpointOverride, database } = standIn(shop);
    await using env = await rdsInstance({ endpointOverride, database, client }).start(envContext());
    await env.restore(await snapshotRestorable(), { log });
    expect(applied).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(env.connectionConfig()).toMatchObject({ user: 'shop_admin', password: applied, database: 'restored' });
    expect(env.facts).toMatchObject({ credentials: 'master password reset for this run' });
    expect(redact(`password is ${applied}`)).toBe('password is ***');
    expect(logs.join('\n')).not.toContain(applied!);
  });

  test('credentials from a Secrets Manager secret (RDS master secret format)', async () => {
    const config = shop.environment.connectionConfig();
    const sm = new SecretsManagerClient({ region: 'us-east-1' });
    const { ARN } = await sm.send(
      new CreateSecretCommand({
        Name: 'shop/master',
        SecretString: JSON.stringify({ username: config.user, password: config.password }),
      }),
    );
    sm.destroy();
    const { endpointOverride, database } = standIn(shop);
    await using env = await rdsInstance({ endpointOverride, database, credentials: { secretArn: ARN! } }).start(
      envContext(),
    );
    await env.restore(await snapshotRestorable(), { log });
    expect(env.facts).toMatchObject({ credentials: `secret ${ARN}` });
    const error = await rejection(
      (async () => {
        await using other = await rdsInstance({
          endpointOverride,
          database,
          credentials: { secretArn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:missing-AbCdEf' },
        }).start(envContext());
        await other.restore(await snapshotRestorable(), { log });
      })(),
    );
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toBe('no such secret: arn:aws:secretsmanager:us-east-1:123456789012:secret:missing-AbCdEf');
  });
});

describe('refusing to touch what is not ours', () => {
  test('an untagged instance with the identifier of the run is neither modified nor deleted', async () => {
    const runId = newRunId();
    const identifier = rdsIdentifier(runId);
    // Someone else's instance, named exactly as this run's would be.
    await rds.send(
      new CreateDBInstanceCommand({
        DBInstanceIdentifier: identifier,
        Engine: 'postgres',
        DBInstanceClass: 'db.t3.micro',
        MasterUsername: 'x',
        MasterUserPassword: 'not-ours-123',
      }),
    );
    const env = await rdsInstance(standIn(shop)).start(envContext(runId));
    const restoreError = await rejection(env.restore(await snapshotRestorable(), { log }));
    expect(restoreError).toBeInstanceOf(ConfigError);
    expect(restoreError.message).toMatch(
      new RegExp(`^RDS refused rds:RestoreDBInstanceFromDBSnapshot for snapshot shop-nightly in us-east-1: `),
    );
    const stopError = await rejection(env.stop());
    expect(stopError).toBeInstanceOf(RestoreDrillError);
    expect(stopError.message).toBe(
      `refusing to touch RDS db-instance ${identifier}: it does not carry restore-drill's tags (restore-drill:owner=restore-drill and restore-drill:run-id=${runId})`,
    );
    expect(await instanceExists(identifier)).toBe(true);
  });

  test("deleteIfOurs refuses an untagged instance and another run's instance, and deletes its own", async () => {
    await rds.send(
      new CreateDBInstanceCommand({
        DBInstanceIdentifier: 'restore-drill-lookalike',
        Engine: 'postgres',
        DBInstanceClass: 'db.t3.micro',
        MasterUsername: 'x',
        MasterUserPassword: 'not-ours-123',
      }),
    );
    await expect(deleteIfOurs(rds, { type: 'db-instance', identifier: 'restore-drill-lookalike' })).rejects.toThrow(
      /^refusing to touch RDS db-instance restore-drill-lookalike/,
    );
    await rds.send(
      new CreateDBInstanceCommand({
        DBInstanceIdentifier: 'restore-drill-other-run',
        Engine: 'postgres',
        DBInstanceClass: 'db.t3.micro',
        MasterUsername: 'x',
        MasterUserPassword: 'not-ours-123',
        Tags: [
          { Key: RDS_TAG.owner, Value: 'restore-drill' },
          { Key: RDS_TAG.runId, Value: 'rd-other' },
        ],
      }),
    );
    await expect(
      deleteIfOurs(rds, { type: 'db-instance', identifier: 'restore-drill-other-run' }, 'rd-mine'),
    ).rejects.toThrow(/does not carry restore-drill's tags/);
    expect(await instanceExists('restore-drill-lookalike')).toBe(true);
    expect(await instanceExists('restore-drill-other-run')).toBe(true);
    expect(await deleteIfOurs(rds, { type: 'db-instance', identifier: 'restore-drill-other-run' }, 'rd-other')).toBe(
      'deleted',
    );
    expect(await deleteIfOurs(rds, { type: 'db-instance', identifier: 'restore-drill-other-run' }, 'rd-other')).toBe(
      'gone',
    );
  });
});

test('an instance that never becomes available: the waiter times out with an error naming it and the timeout, and teardown deletes it', async () => {
  const client = motoRdsClient(moto);
  // moto's instances are available at once; stopping it right after the restore makes the waiter wait.
  afterCall(client, 'RestoreDBInstanceFromDBSnapshot', async (input) => {
    await rds.send(new StopDBInstanceCommand({ DBInstanceIdentifier: String(input.DBInstanceIdentifier) }));
  });
  const env: StartedEnvironment = await rdsInstance({ ...standIn(shop), client, timeout: '2s' }).start(envContext());
  const identifier = String(env.facts?.instanceIdentifier ?? rdsIdentifier(env.runId));
  const error = await rejection(env.restore(await snapshotRestorable(), { log }));
  expect(error).toBeInstanceOf(RestoreDrillError);
  expect(error.message).toBe(
    `RDS db-instance ${identifier} did not become available within the timeout of 2.0s (last status: stopped)`,
  );
  expect(await instanceExists(identifier)).toBe(true);
  await env.stop();
  expect(await instanceExists(identifier)).toBe(false);
});

test('a settings problem RDS reports (an unknown parameter group) is a one-line ConfigError quoting RDS', async () => {
  await using env = await rdsInstance({ ...standIn(shop), parameterGroup: 'no-such-params' }).start(envContext());
  const error = await rejection(env.restore(await snapshotRestorable(), { log }));
  expect(error).toBeInstanceOf(ConfigError);
  expect(error.message).toBe(
    'RDS refused rds:RestoreDBInstanceFromDBSnapshot for snapshot shop-nightly in us-east-1: DB Parameter Group no-such-params not found.',
  );
});

test('the rds-instance environment refuses recovery points it cannot restore, and bad options', async () => {
  await using env = await rdsInstance().start(envContext());
  const error = await rejection(env.restore({ kind: 'pg-dump' }, { log }));
  expect(error).toBeInstanceOf(ConfigError);
  expect(error.message).toBe('the rds-instance environment cannot restore a pg-dump recovery point');
  await expect(rdsInstance({ timeout: '2h', expiresAfter: '1h' }).start(envContext())).rejects.toThrow(ConfigError);
  await expect(rdsInstance({ timeout: 'soon' }).start(envContext())).rejects.toThrow('bad rdsInstance timeout "soon"');
});

test('missing permissions are a clear error naming the missing IAM action', async () => {
  // A moto that checks every request against IAM: an admin sets up "production", the drill's user may only read.
  await using guarded = await startMotoServer({ env: { INITIAL_NO_AUTH_ACTION_COUNT: '6' } });
  const admin = await createMotoIamUser(guarded, 'admin', {
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }],
  });
  const reader = await createMotoIamUser(guarded, 'drill', {
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Action: ['rds:DescribeDBInstances', 'rds:ListTagsForResource'], Resource: '*' }],
  });
  const adminRds = motoRdsClient(guarded, 'us-east-1', admin);
  const drillRds = motoRdsClient(guarded, 'us-east-1', reader, 1);
  await createProductionInstance(adminRds, 'shop-prod', { snapshots: ['shop-nightly'] });

  const listError = await rejection(
    rdsSnapshotSource({ dbInstanceIdentifier: 'shop-prod', client: drillRds }).list(sourceContext),
  );
  expect(listError).toBeInstanceOf(ConfigError);
  expect(listError.message).toBe(
    "AWS denied rds:DescribeDBSnapshots on snapshots of db-instance shop-prod in us-east-1 (AccessDenied): the drill's credentials lack permission for rds:DescribeDBSnapshots",
  );
  expect((listError as ConfigError).hint).toBe(
    'grant rds:DescribeDBSnapshots; see iam/restore-drill-policy.json for the minimal policy a drill needs',
  );

  const point = (
    await rdsSnapshotSource({ dbInstanceIdentifier: 'shop-prod', snapshotType: 'manual', client: adminRds }).list(
      sourceContext,
    )
  )[0]!;
  const restorable = await rdsSnapshotSource({ dbInstanceIdentifier: 'shop-prod', client: adminRds }).fetch(
    point,
    sourceContext,
  );
  await using env = await rdsInstance({ ...standIn(shop), client: drillRds }).start(envContext());
  const restoreError = await rejection(env.restore(restorable, { log }));
  expect(restoreError).toBeInstanceOf(ConfigError);
  expect(restoreError.message).toBe(
    "AWS denied rds:RestoreDBInstanceFromDBSnapshot on snapshot shop-nightly in us-east-1 (AccessDenied): the drill's credentials lack permission for rds:RestoreDBInstanceFromDBSnapshot",
  );
  expect(restoreError.message).not.toContain(reader.secretAccessKey);
  adminRds.destroy();
});

describe('at most K temporary instances at once (run --rds-limit)', () => {
  test('two drills with K=1 in moto: the second waits for the lease in the S3 store, only one instance exists at a time', async () => {
    const s3 = new S3Client({ forcePathStyle: true });
    await s3.send(new CreateBucketCommand({ Bucket: 'fleet-leases' }));
    s3.destroy();
    let most = 0;
    const client = motoRdsClient(moto);
    const drillInstances = async () =>
      ((await client.send(new DescribeDBInstancesCommand({}))).DBInstances ?? [])
        .map((d) => d.DBInstanceIdentifier ?? '')
        .filter((id) => id.startsWith('restore-drill-'));
    // Instances other tests of this file left on purpose (untagged, another run's) are not these drills'.
    const before = new Set(await drillInstances());
    afterCall(client, 'RestoreDBInstanceFromDBSnapshot', async () => {
      most = Math.max(most, (await drillInstances()).filter((id) => !before.has(id)).length);
    });
    const lines: Record<string, string[]> = { first: [], second: [] };
    const drillOf = (name: 'first' | 'second') =>
      runDrill({
        name: `${name} of two`,
        log: (line) => lines[name]!.push(line),
        reportDir: join(dir, `limit-${name}`),
        signingKey,
        settings: { rdsLimit: '1', leaseStore: 's3://fleet-leases/fleet/' },
        source: rdsSnapshotSource({ dbInstanceIdentifier: 'shop-prod', snapshotType: 'manual' }),
        environment: rdsInstance({ ...standIn(shop), client }),
        objectives: { rto: '8h' },
      });
    const results = await Promise.all([drillOf('first'), drillOf('second')]);
    client.destroy();
    expect(results.map((r) => r.status)).toEqual(['passed', 'passed']);
    expect(most).toBe(1);
    // One of them found the only lease held by the other and said so while it waited.
    const waited = Object.values(lines).filter((l) => l.some((line) => /lease: all 1 slot\(s\) of .* held/.test(line)));
    expect(waited).toHaveLength(1);
    expect(waited[0]!.find((line) => /waiting$/.test(line))).toMatch(
      /^provision: lease: all 1 slot\(s\) of s3:\/\/fleet-leases\/fleet\/leases\/rds-instances\/ are held \((first|second) of two \(run .*\) until .*\); waiting$/,
    );
    for (const result of results) {
      expect(result.report.environment?.facts).toMatchObject({
        instanceLimit: 'lease 1 of 1 in s3://fleet-leases/fleet/leases/rds-instances/',
      });
      expect(result.report.checks.find((c) => c.name === RDS_LIMIT_CHECK)).toMatchObject({
        status: 'passed',
        expected: 'lease held from provision until the report was signed',
        detail: expect.stringContaining('released at teardown, after this report'),
      });
    }
  });

  test('a lease that expired while the drill ran fails the check "RDS instance limit", naming who took the slot', async () => {
    const leases = join(dir, 'leases');
    const env = await rdsInstance({ ...standIn(shop), limit: { max: 1, leases, leaseTtl: 1 } }).start(envContext());
    try {
      // The drill's process stalls past its lease's expiry; another shard's drill takes the slot meanwhile.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1300);
      const other = await acquireLease(directoryLeaseObjects(join(leases, 'rds-instances')), {
        limit: 1,
        holder: 'orders (run other-shard)',
        ttlSeconds: 60,
        log,
      });
      expect(await env.checks?.()).toEqual([
        {
          name: RDS_LIMIT_CHECK,
          status: 'failed',
          expected: 'lease held from provision until the report was signed',
          actual: 'lease lost',
          detail: expect.stringMatching(
            /^the lease on slot 1 of 1 in .*rds-instances expired at .* while the drill still ran \(not renewed in time\); orders \(run other-shard\) took the slot, so more than 1 may have run at once; give the lease a longer leaseTtl, or look for what stalled this drill$/,
          ),
        },
      ]);
      await other.release();
    } finally {
      await env.stop();
    }
  });

  test('a lease that lapsed after the report was signed (teardown stalled) is in the report of the drill that took the slot', async () => {
    const leases = join(dir, 'leases-teardown');
    const first = await rdsInstance({ ...standIn(shop), limit: { max: 1, leases, leaseTtl: 1 } }).start(envContext());
    const second = rdsInstance({ ...standIn(shop), limit: { max: 1, leases } });
    try {
      // The first drill's report is signed with the lease held; then its teardown stalls past the lease's ttl.
      expect(await first.checks?.()).toMatchObject([{ name: RDS_LIMIT_CHECK, status: 'passed', actual: 'held' }]);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1300);
      await using taker = await second.start(envContext());
      expect(await taker.checks?.()).toEqual([
        {
          name: RDS_LIMIT_CHECK,
          status: 'skipped',
          expected: 'lease held from provision until the report was signed',
          actual: 'held, taken over from a lapsed lease',
          detail: expect.stringMatching(
            /^not verified: lease 1 of 1 in .*rds-instances was taken over from rds instance test \(run .*\), whose lease expired at .* without being released \(it crashed, or its teardown stalled past its leaseTtl\); its instance may still have existed while this drill's ran, so more than the limit may have run at once$/,
          ),
        },
      ]);
    } finally {
      await first.stop();
    }
  });

  test('--rds-limit without a store every shard shares, or not a whole number, is a usage error before anything starts', async () => {
    const attempt = (settings: { rdsLimit: string; leaseStore?: string }) =>
      runDrill({
        name: 'limit misconfigured',
        log,
        reportDir: join(dir, 'limit-bad'),
        signingKey,
        settings,
        source: rdsSnapshotSource({ dbInstanceIdentifier: 'shop-prod', snapshotType: 'manual' }),
        environment: rdsInstance(standIn(shop)),
      });
    const nowhere = await rejection(attempt({ rdsLimit: '2' }));
    expect(nowhere).toBeInstanceOf(ConfigError);
    expect(nowhere.message).toBe('--rds-limit 2 needs a place every shard shares to keep its leases');
    const bad = await rejection(attempt({ rdsLimit: 'two', leaseStore: dir }));
    expect(bad.message).toBe('bad --rds-limit "two" ($RESTORE_DRILL_RDS_LIMIT)');
  });
});
