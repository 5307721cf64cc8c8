import { CreateDBInstanceCommand, CreateDBInstanceReadReplicaCommand, type RDSClient } from '@aws-sdk/client-rds';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { ConfigError } from '../../errors.ts';
import { startMotoServer, type MotoServer } from '../../testing/moto-server.ts';
import { motoRdsClient, useMotoAwsEnv } from '../../testing/rds-moto.ts';
import type { PolicyContext } from '../policy.ts';
import { standbyPolicy } from './standby-policy.ts';

let moto: MotoServer;
let restoreEnv: () => void;
let rds: RDSClient;
const context: PolicyContext = {
  points: [],
  now: new Date(),
  source: {
    kind: 'test',
    describe: () => 'test',
    list: () => Promise.resolve([]),
    fetch: () => Promise.resolve({ kind: 'test' }),
  },
  sourceContext: { workDir: '/nonexistent', log: () => {} },
};

const instance = (id: string, multiAz: boolean) =>
  new CreateDBInstanceCommand({
    DBInstanceIdentifier: id,
    Engine: 'postgres',
    DBInstanceClass: 'db.m6g.large',
    MasterUsername: 'shop_admin',
    MasterUserPassword: 'not-for-drills-1',
    MultiAZ: multiAz,
    BackupRetentionPeriod: 7,
  });

beforeAll(async () => {
  moto = await startMotoServer();
  restoreEnv = useMotoAwsEnv(moto);
  rds = motoRdsClient(moto, 'eu-west-1');
  await rds.send(instance('shop-prod', true));
  await rds.send(
    new CreateDBInstanceReadReplicaCommand({
      DBInstanceIdentifier: 'shop-replica-1',
      SourceDBInstanceIdentifier: 'shop-prod',
    }),
  );
  await rds.send(instance('lonely', false));
});

afterAll(async () => {
  rds?.destroy();
  await moto?.stop();
  restoreEnv?.();
});

test('Multi-AZ and an available read replica pass; the replica lag is reported as not verified, never as passed', async () => {
  const checks = await standbyPolicy({
    dbInstanceIdentifier: 'shop-prod',
    region: 'eu-west-1',
    multiAz: true,
    readReplicas: 1,
    maxReplicaLag: '5m',
  }).evaluate(context);
  expect(checks).toEqual([
    expect.objectContaining({ name: 'policy standby multi-AZ shop-prod', status: 'passed', actual: 'Multi-AZ on' }),
    expect.objectContaining({
      name: 'policy standby read replicas shop-prod',
      status: 'passed',
      actual: '1 available',
      detail: 'shop-replica-1: available',
    }),
    {
      name: 'policy standby replica lag shop-prod',
      status: 'skipped',
      expected: 'replica lag ≤ 5m 00s',
      actual: null,
      detail: 'not verified: replica lag is a CloudWatch metric (ReplicaLag), which restore-drill does not read',
    },
  ]);
});

test('an instance without a standby or replicas fails both, saying what it has', async () => {
  const checks = await standbyPolicy({
    dbInstanceIdentifier: 'lonely',
    region: 'eu-west-1',
    multiAz: true,
    readReplicas: 1,
  }).evaluate(context);
  expect(checks).toEqual([
    expect.objectContaining({ status: 'failed', expected: 'Multi-AZ on', actual: 'Multi-AZ off' }),
    expect.objectContaining({ status: 'failed', actual: '0 available', detail: 'no read replicas' }),
  ]);
});

test('an unknown instance is one line naming it; a policy that checks nothing is refused', async () => {
  await expect(
    standbyPolicy({ dbInstanceIdentifier: 'ghost', region: 'eu-west-1', multiAz: true }).evaluate(context),
  ).rejects.toThrow(/^RDS found no db-instance ghost in eu-west-1 \(DBInstanceNotFoundFault\)$/);
  expect(() => standbyPolicy({ dbInstanceIdentifier: 'shop-prod' })).toThrow(ConfigError);
});
