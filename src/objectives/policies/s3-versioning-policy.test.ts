import { CreateBucketCommand, PutBucketVersioningCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { ConfigError } from '../../errors.ts';
import { fileSource } from '../../sources/file/file-source.ts';
import type { SourceContext } from '../../sources/source.ts';
import { startMotoServer, type MotoServer } from '../../testing/moto-server.ts';
import type { PolicyContext } from '../policy.ts';
import { s3VersioningPolicy } from './s3-versioning-policy.ts';

let moto: MotoServer;
let s3: S3Client;
const sourceContext: SourceContext = { workDir: '/nonexistent', log: () => {} };
// S3 policies do not look at recovery points: any source will do.
const context: PolicyContext = { points: [], now: new Date(), source: fileSource('/nonexistent'), sourceContext };

beforeAll(async () => {
  moto = await startMotoServer();
  s3 = new S3Client({
    endpoint: moto.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  });
  for (const Bucket of ['attachments', 'scratch']) await s3.send(new CreateBucketCommand({ Bucket }));
  await s3.send(
    new PutBucketVersioningCommand({ Bucket: 'attachments', VersioningConfiguration: { Status: 'Enabled' } }),
  );
  await s3.send(
    new PutObjectCommand({ Bucket: 'attachments', Key: 'backups/a.dump', Body: 'a', ServerSideEncryption: 'AES256' }),
  );
  await s3.send(
    new PutObjectCommand({
      Bucket: 'attachments',
      Key: 'backups/b.dump',
      Body: 'b',
      ServerSideEncryption: 'aws:kms',
      SSEKMSKeyId: 'arn:aws:kms:us-east-1:123456789012:key/k',
    }),
  );
  await s3.send(new PutObjectCommand({ Bucket: 'attachments', Key: 'uploads/c.png', Body: 'c' }));
});
afterAll(async () => {
  s3?.destroy();
  await moto?.stop();
});

test('versioning enabled passes; a bucket where it never was fails', async () => {
  expect(await s3VersioningPolicy({ bucket: 'attachments', client: s3 }).evaluate(context)).toEqual([
    { name: 'policy s3 versioning s3://attachments/', status: 'passed', expected: 'Enabled', actual: 'Enabled' },
  ]);
  expect(await s3VersioningPolicy({ bucket: 'scratch', client: s3 }).evaluate(context)).toEqual([
    { name: 'policy s3 versioning s3://scratch/', status: 'failed', expected: 'Enabled', actual: 'never enabled' },
  ]);
});

test('optionally every object under a prefix is server-side encrypted (HeadObject each), optionally with one algorithm', async () => {
  const [, backups] = await s3VersioningPolicy({
    bucket: 'attachments',
    prefix: 'backups/',
    everyObjectEncrypted: true,
    client: s3,
  }).evaluate(context);
  expect(backups).toEqual({
    name: 'policy s3 encryption s3://attachments/backups/',
    status: 'passed',
    expected: 'every object server-side encrypted',
    actual: '2 of 2',
  });
  const [, all] = await s3VersioningPolicy({ bucket: 'attachments', everyObjectEncrypted: true, client: s3 }).evaluate(
    context,
  );
  expect(all).toEqual({
    name: 'policy s3 encryption s3://attachments/',
    status: 'failed',
    expected: 'every object server-side encrypted',
    actual: '2 of 3',
    detail: 'not encrypted: s3://attachments/uploads/c.png',
  });
  const [, kms] = await s3VersioningPolicy({
    bucket: 'attachments',
    prefix: 'backups/',
    everyObjectEncrypted: true,
    algorithm: 'aws:kms',
    client: s3,
  }).evaluate(context);
  expect(kms).toMatchObject({
    status: 'failed',
    actual: '1 of 2',
    detail: 'not encrypted with aws:kms: s3://attachments/backups/a.dump',
  });
});

test('a missing bucket is a one-line ConfigError', async () => {
  const error = await Promise.resolve(
    s3VersioningPolicy({ bucket: 'no-such-bucket', client: s3 }).evaluate(context),
  ).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(ConfigError);
  expect((error as Error).message).toBe('no such S3 bucket: no-such-bucket');
});
