import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { runDrill } from '../../drill/run-drill.ts';
import { ConfigError } from '../../errors.ts';
import { generateKeyPair } from '../../evidence/signing-key.ts';
import { writeMarker } from '../../markers/take-marker.ts';
import { longTermPolicy } from '../../objectives/policies/long-term-policy.ts';
import { residencyPolicy } from '../../objectives/policies/residency-policy.ts';
import { startMotoServer, type MotoServer } from '../../testing/moto-server.ts';
import { createMotoIamUser, useMotoAwsEnv } from '../../testing/rds-moto.ts';
import { startShopDatabase, type ShopDatabase } from '../../testing/shop-database.ts';
import { s3DumpSource } from './s3-dump-source.ts';

// Two moto servers stand in for two clouds: "aws" (the primary's store) and "gcs" (Google Cloud Storage's
// S3-compatible XML API, which checks its own HMAC key). The process-wide AWS_ENDPOINT_URL points at
// neither: each source names its own endpoint, region and credentials. The dumps sit at the buckets' top
// level: moto's signature check (with IAM enforced) rejects a listing whose prefix holds a `/`.
let aws: MotoServer;
let gcs: MotoServer;
let hmac: { accessKeyId: string; secretAccessKey: string };
let restoreEnv: () => void;
let shop: ShopDatabase;
let dir: string;
let signingKey: string;
const logs: string[] = [];

async function bucketWith(
  server: MotoServer,
  credentials: { accessKeyId: string; secretAccessKey: string },
  bucket: string,
  objects: Record<string, { body: Buffer; storageClass?: 'DEEP_ARCHIVE' }>,
) {
  const s3 = new S3Client({ region: 'us-east-1', endpoint: server.endpoint, forcePathStyle: true, credentials });
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  for (const [key, o] of Object.entries(objects))
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: o.body, StorageClass: o.storageClass }));
  s3.destroy();
}

const euCopy = () =>
  s3DumpSource({
    bucket: 'shop-dr',
    endpoint: gcs.endpoint,
    region: 'auto',
    location: 'europe-west3',
    credentials: hmac,
  });
const coldArchive = () =>
  s3DumpSource({
    bucket: 'shop-archive',
    endpoint: gcs.endpoint,
    region: 'auto',
    location: 'europe-west3',
    credentials: hmac,
    archive: { tier: 'Bulk', days: 1 },
  });
const primary = (region: string) =>
  s3DumpSource({
    bucket: 'shop-prod-backups',
    endpoint: aws.endpoint,
    region,
    credentials: { accessKeyId: 'primary', secretAccessKey: 'primary-secret' },
  });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'two-clouds-test-'));
  signingKey = generateKeyPair(join(dir, 'keys')).privatePath;
  aws = await startMotoServer();
  gcs = await startMotoServer({ env: { INITIAL_NO_AUTH_ACTION_COUNT: '3' } });
  hmac = await createMotoIamUser(gcs, 'drill-hmac', {
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: '*' }],
  });
  // Whatever the process-wide configuration says, no source may use it.
  restoreEnv = useMotoAwsEnv({
    env: {
      AWS_ACCESS_KEY_ID: 'process-wide',
      AWS_SECRET_ACCESS_KEY: 'process-wide',
      AWS_REGION: 'us-east-1',
      AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
    },
  });
  shop = await startShopDatabase();
  await writeMarker(shop.environment.connectionConfig());
  const dump = await readFile(await shop.dump(join(dir, 'shop.dump'), 'custom'));
  await bucketWith(aws, { accessKeyId: 'primary', secretAccessKey: 'primary-secret' }, 'shop-prod-backups', {
    'shop-2026-12-02.dump': { body: dump },
  });
  await bucketWith(gcs, hmac, 'shop-dr', { 'shop-2026-12-02.dump': { body: dump } });
  await bucketWith(gcs, hmac, 'shop-archive', { 'shop-2026-12-01.dump': { body: dump, storageClass: 'DEEP_ARCHIVE' } });
});

afterAll(async () => {
  await aws?.stop();
  await gcs?.stop();
  await shop?.stop();
  restoreEnv?.();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('the EU copy in the other cloud restores within the RTO, every copy stays in the EU, and the cold archive holds a recent backup', async () => {
  const result = await runDrill({
    name: 'shop: EU copy in the other cloud',
    log: (line) => logs.push(line),
    reportDir: join(dir, 'reports'),
    signingKey,
    source: euCopy(),
    policies: [
      residencyPolicy({ domain: 'EU', copies: [primary('eu-central-1'), coldArchive()] }),
      longTermPolicy({ every: '120d', keepAtLeast: 1, from: coldArchive() }),
    ],
    objectives: { rto: '8h', rpo: '24h' },
  });
  expect(result.report.error).toBeUndefined();
  expect(result.failedChecks).toEqual([]);
  expect(result.status).toBe('passed');
  expect(result.report.recoveryPoint).toMatchObject({
    id: 's3://shop-dr/shop-2026-12-02.dump',
    facts: { region: 'europe-west3', bucket: 'shop-dr' },
  });
  expect(result.report.checks).toEqual(
    expect.arrayContaining([
      expect.objectContaining({
        name: 'policy residency EU',
        status: 'passed',
        actual: '3 point(s) in eu-central-1, europe-west3',
      }),
      expect.objectContaining({ name: 'policy long-term', status: 'passed' }),
      expect.objectContaining({ name: 'objective RTO', status: 'passed' }),
    ]),
  );
  expect(result.report.checks.filter((c) => c.table && c.status === 'passed').length).toBeGreaterThan(5);
  // Neither secret key reaches the report or the logs.
  const written = await readFile(result.reportPath, 'utf8');
  expect(Buffer.from((JSON.parse(written) as { payload: string }).payload, 'base64').toString()).not.toContain(
    hmac.secretAccessKey,
  );
  expect(logs.join('\n')).not.toContain(hmac.secretAccessKey);
});

test('a primary outside the EU fails residency, naming it and its region', async () => {
  const result = await runDrill({
    name: 'shop: EU residency with a US primary',
    log: (line) => logs.push(line),
    reportDir: join(dir, 'reports'),
    signingKey,
    source: euCopy(),
    restore: false,
    policies: [residencyPolicy({ domain: 'EU', copies: primary('us-east-1') })],
  });
  expect(result.status).toBe('failed');
  expect(result.failedChecks).toEqual([
    expect.objectContaining({
      name: 'policy residency EU',
      actual: 'outside EU: s3://shop-prod-backups/shop-2026-12-02.dump (us-east-1: US)',
    }),
  ]);
});

test('each store checks its own credentials: the other cloud refuses the process-wide ones in one line', async () => {
  const source = s3DumpSource({ bucket: 'shop-dr', endpoint: gcs.endpoint, region: 'auto', location: 'europe-west3' });
  const error = await source.list({ workDir: dir, log: () => {} }).catch((e: unknown) => e as Error);
  expect(error).toBeInstanceOf(ConfigError);
  expect((error as Error).message).toBe(
    `S3 at ${gcs.endpoint} refused the credentials (InvalidAccessKeyId) for s3://shop-dr/`,
  );
});
