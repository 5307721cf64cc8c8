import { freshnessPolicy } from '../../objectives/policies/freshness-policy.ts';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateDBClusterCommand,
  CreateDBInstanceCommand,
  DescribeDBClustersCommand,
  DescribeDBInstancesCommand,
  type RDSClient,
  type Tag,
} from '@aws-sdk/client-rds';
import { afterAll, beforeAll, expect, onTestFinished, test } from 'vitest';
import { startMotoServer, type MotoServer } from '../../testing/moto-server.ts';
import { motoRdsClient } from '../../testing/rds-moto.ts';
import { NO_ENGINE, runCli } from '../../testing/run-cli.ts';
import { cleanupRds, findRdsLeftovers } from './rds-leftovers.ts';
import { RDS_TAG } from './rds-tags.ts';
import { rdsInstance } from './rds-instance.ts';
import { runDrill } from '../../drill/run-drill.ts';
import { generateKeyPair } from '../../evidence/signing-key.ts';
import { listedSource } from '../../testing/listed-source.ts';

let moto: MotoServer;
let rds: RDSClient;
let emptyTmp: string;
const hourAgo = new Date(Date.now() - 3600_000).toISOString();
const inAnHour = new Date(Date.now() + 3600_000).toISOString();

function ours(runId: string, expiresAt: string, createdAt = hourAgo): Tag[] {
  return [
    { Key: RDS_TAG.owner, Value: 'restore-drill' },
    { Key: RDS_TAG.runId, Value: runId },
    { Key: RDS_TAG.drill, Value: 'shop nightly' },
    { Key: RDS_TAG.createdAt, Value: createdAt },
    { Key: RDS_TAG.expiresAt, Value: expiresAt },
  ];
}

async function instance(identifier: string, tags: Tag[] = [], client = rds): Promise<void> {
  await client.send(
    new CreateDBInstanceCommand({
      DBInstanceIdentifier: identifier,
      Engine: 'postgres',
      DBInstanceClass: 'db.t3.micro',
      MasterUsername: 'x',
      MasterUserPassword: 'password-123',
      Tags: tags,
    }),
  );
}

async function instances(client = rds): Promise<string[]> {
  return ((await client.send(new DescribeDBInstancesCommand({}))).DBInstances ?? [])
    .map((i) => i.DBInstanceIdentifier!)
    .sort();
}

beforeAll(async () => {
  emptyTmp = await mkdtemp(join(tmpdir(), 'rds-leftovers-test-'));
  moto = await startMotoServer();
  rds = motoRdsClient(moto, 'us-east-1');
  await instance('restore-drill-rd1-expired', ours('rd1', hourAgo));
  await instance('restore-drill-rd2-running', ours('rd2', inAnHour));
  await instance('restore-drill-lookalike'); // our name, no tags: someone else's
  await instance('restore-drill-foreign', [
    { Key: RDS_TAG.owner, Value: 'someone-else' },
    { Key: RDS_TAG.runId, Value: 'rd9' },
    { Key: RDS_TAG.expiresAt, Value: hourAgo },
  ]);
  await instance('shop-prod', ours('rd3', hourAgo)); // tagged, but not a name restore-drill gives
  await rds.send(
    new CreateDBClusterCommand({
      DBClusterIdentifier: 'restore-drill-rd4-expired',
      Engine: 'aurora-postgresql',
      MasterUsername: 'x',
      MasterUserPassword: 'password-123',
      Tags: ours('rd4', hourAgo),
    }),
  );
});

afterAll(async () => {
  rds?.destroy();
  await moto?.stop();
  if (emptyTmp) await rm(emptyTmp, { recursive: true, force: true });
});

test('finds only expired resources carrying restore-drill tags and name; --older-than also takes younger runs', async () => {
  const found = await findRdsLeftovers(rds);
  expect(found.map((l) => [l.type, l.identifier, l.label.runId, l.reason])).toEqual([
    ['db-instance', 'restore-drill-rd1-expired', 'rd1', `expired at ${hourAgo}`],
    ['db-cluster', 'restore-drill-rd4-expired', 'rd4', `expired at ${hourAgo}`],
  ]);
  const older = await findRdsLeftovers(rds, { olderThanSeconds: 60 });
  expect(older.map((l) => l.identifier)).toContain('restore-drill-rd2-running');
  expect(older.map((l) => l.identifier)).not.toContain('restore-drill-lookalike');
});

test('`restore-drill cleanup --rds --region` deletes the expired tagged instance and cluster and leaves everything else', async () => {
  const west = motoRdsClient(moto, 'eu-west-1');
  onTestFinished(() => west.destroy());
  await instance('restore-drill-rd5-expired', ours('rd5', hourAgo), west);
  const result = await runCli(['cleanup', '--rds', '--region', 'us-east-1', 'eu-west-1'], {
    env: {
      ...moto.env,
      TMPDIR: emptyTmp,
      DOCKER_HOST: NO_ENGINE,
      AWS_CONFIG_FILE: '/nonexistent',
      AWS_SHARED_CREDENTIALS_FILE: '/nonexistent',
      AWS_PROFILE: undefined,
    },
  });
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  expect(result.stdout).toContain(
    'removed RDS db-instance restore-drill-rd1-expired in us-east-1 (run rd1, drill "shop nightly": expired at',
  );
  expect(result.stdout).toContain('removed RDS db-cluster restore-drill-rd4-expired in us-east-1 (run rd4');
  expect(result.stdout).toContain('removed RDS db-instance restore-drill-rd5-expired in eu-west-1 (run rd5');
  expect(result.stdout).toContain('cleanup: removed 3 leftover(s)');
  expect(await instances()).toEqual([
    'restore-drill-foreign',
    'restore-drill-lookalike',
    'restore-drill-rd2-running',
    'shop-prod',
  ]);
  expect(await instances(west)).toEqual([]);
  expect((await rds.send(new DescribeDBClustersCommand({}))).DBClusters).toEqual([]);

  const lines: string[] = [];
  const again = await cleanupRds({
    regions: ['us-east-1', 'eu-west-1'],
    log: (line) => lines.push(line),
    clientFor: async (region) => (region === 'eu-west-1' ? west : rds),
  });
  expect(again).toEqual({ removed: [], failed: [] });
  expect(lines).toEqual([]);
});

test('the start of the next RDS drill deletes expired temporary instances of crashed runs (and nothing else) before it does anything', async () => {
  await instance('restore-drill-rd6-expired', ours('rd6', hourAgo));
  const before = await instances();
  const lines: string[] = [];
  const result = await runDrill({
    name: 'next RDS drill',
    source: listedSource(),
    restore: false,
    policies: [freshnessPolicy({ maxAge: '1d' })],
    environment: rdsInstance({ client: rds }),
    reportDir: join(emptyTmp, 'reports'),
    signingKey: generateKeyPair(join(emptyTmp, 'keys')).privatePath,
    log: (line) => lines.push(line),
  });
  expect(result.status).toBe('passed');
  expect(lines).toContainEqual(
    expect.stringMatching(
      /^removed RDS db-instance restore-drill-rd6-expired in us-east-1 \(run rd6, drill "shop nightly": expired at /,
    ),
  );
  expect(await instances()).toEqual(before.filter((name) => name !== 'restore-drill-rd6-expired'));
});
