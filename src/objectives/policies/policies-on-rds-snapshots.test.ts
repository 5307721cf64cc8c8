import { CopyDBSnapshotCommand, CreateDBSnapshotCommand, type RDSClient } from '@aws-sdk/client-rds';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { rdsSnapshotSource } from '../../sources/rds/rds-snapshot-source.ts';
import type { Source, SourceContext } from '../../sources/source.ts';
import type { RecoveryPoint } from '../../model/recovery-point.ts';
import { startMotoServer, type MotoServer } from '../../testing/moto-server.ts';
import { createProductionInstance, motoRdsClient, useMotoAwsEnv } from '../../testing/rds-moto.ts';
import type { PolicyContext } from '../policy.ts';
import { coveragePolicy } from './coverage-policy.ts';
import { encryptionPolicy } from './encryption-policy.ts';
import { freshnessPolicy } from './freshness-policy.ts';
import { offsiteCopyPolicy } from './offsite-copy-policy.ts';
import { retentionPolicy } from './retention-policy.ts';

// Every policy once on real snapshots listed from moto (one server for all: its first RDS call is slow).
// moto stamps snapshots with the current time, so ages are varied by evaluating at a later `now`.
const KEY = 'arn:aws:kms:us-east-1:123456789012:key/0f1e2d3c-aaaa-bbbb-cccc-111122223333';
const sourceContext: SourceContext = { workDir: '/nonexistent', log: () => {} };
const hours = (n: number) => new Date(Date.now() + n * 3600e3);
let moto: MotoServer;
let restoreEnv: () => void;
let east: RDSClient;
let west: RDSClient;
let source: Source;
let shop: RecoveryPoint[];
let legacy: RecoveryPoint[];
const context = (points: RecoveryPoint[], now = new Date()): PolicyContext => ({ points, now, source, sourceContext });

beforeAll(async () => {
  moto = await startMotoServer();
  restoreEnv = useMotoAwsEnv(moto);
  east = motoRdsClient(moto, 'us-east-1');
  west = motoRdsClient(moto, 'eu-west-1');
  await createProductionInstance(east, 'shop-prod', { kmsKeyId: KEY, snapshots: ['shop-1'] });
  await west.send(
    new CopyDBSnapshotCommand({
      SourceDBSnapshotIdentifier: 'arn:aws:rds:us-east-1:123456789012:snapshot:shop-1',
      TargetDBSnapshotIdentifier: 'shop-1-dr',
    }),
  );
  await east.send(new CreateDBSnapshotCommand({ DBInstanceIdentifier: 'shop-prod', DBSnapshotIdentifier: 'shop-2' }));
  await createProductionInstance(east, 'legacy', { encrypted: false, snapshots: ['legacy-1'] });
  source = rdsSnapshotSource({ dbInstanceIdentifier: 'shop-prod', snapshotType: 'manual', region: 'us-east-1' });
  shop = await source.list(sourceContext);
  legacy = await rdsSnapshotSource({ dbInstanceIdentifier: 'legacy', region: 'us-east-1' }).list(sourceContext);
});

afterAll(async () => {
  east?.destroy();
  west?.destroy();
  await moto?.stop();
  restoreEnv?.();
});

test('the listing these checks run on', () => {
  expect(shop.map((p) => p.id)).toEqual(['shop-2', 'shop-1']);
});

test('freshness: fresh now, stale four hours later', () => {
  const policy = freshnessPolicy({ maxAge: '3h' });
  expect(policy.evaluate(context(shop))).toEqual([expect.objectContaining({ status: 'passed' })]);
  expect(policy.evaluate(context(shop, hours(4)))).toEqual([expect.objectContaining({ status: 'failed' })]);
});

test('coverage: covered for the last hour now, uncovered once the snapshots are older than the gap', () => {
  const policy = coveragePolicy([{ maxGap: '3h', within: '1h' }]);
  expect(policy.evaluate(context(shop))).toEqual([expect.objectContaining({ status: 'passed' })]);
  expect(policy.evaluate(context(shop, hours(5)))).toEqual([expect.objectContaining({ status: 'failed' })]);
});

test('retention: young snapshots fail a 30-day minimum and pass a 29-day maximum, and the other way round 30 days later', () => {
  const policy = retentionPolicy({ oldestAtLeast: '30d', noneOlderThan: '29d' });
  expect(policy.evaluate(context(shop))).toEqual([
    expect.objectContaining({ status: 'failed' }),
    expect.objectContaining({ status: 'passed' }),
  ]);
  expect(policy.evaluate(context(shop, hours(30 * 24 + 1)))).toEqual([
    expect.objectContaining({ status: 'passed' }),
    expect.objectContaining({ status: 'failed', actual: '2 older' }),
  ]);
});

test('encryption: snapshots of an instance encrypted with the key pass; an unencrypted instance fails', () => {
  expect(encryptionPolicy({ kmsKeyId: KEY }).evaluate(context(shop))).toEqual([
    expect.objectContaining({ status: 'passed', actual: '2 of 2' }),
  ]);
  expect(encryptionPolicy().evaluate(context(legacy))).toEqual([
    expect.objectContaining({ status: 'failed', detail: expect.stringContaining('legacy-1') }),
  ]);
});

test('offsite copy: the CopyDBSnapshot to eu-west-1 passes; the uncopied snapshot fails once it is due', async () => {
  const policy = offsiteCopyPolicy({ regions: ['eu-west-1'], last: 2, within: '24h' });
  expect(await policy.evaluate(context(shop))).toEqual([
    expect.objectContaining({
      name: 'policy offsite copy shop-1',
      status: 'passed',
      detail: 'copy: shop-1-dr',
      actual: expect.stringMatching(/^eu-west-1 \/ 123456789012 after /),
    }),
  ]);
  expect(await policy.evaluate(context(shop, hours(25)))).toEqual([
    expect.objectContaining({
      name: 'policy offsite copy shop-2',
      status: 'failed',
      actual: 'no copy',
      detail: 'searched rds-snapshot db-instance shop-prod (eu-west-1)',
    }),
    expect.objectContaining({ name: 'policy offsite copy shop-1', status: 'passed' }),
  ]);
  // A region without any copy is a failed check, not an error.
  expect(await offsiteCopyPolicy({ regions: ['ap-south-1'], within: '1h' }).evaluate(context(shop, hours(2)))).toEqual([
    expect.objectContaining({ status: 'failed', actual: 'no copy' }),
  ]);
});
