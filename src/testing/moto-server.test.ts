import { CreateBucketCommand, ListBucketsCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startMotoServer, type MotoServer } from './moto-server.ts';

let moto: MotoServer;

beforeAll(async () => {
  moto = await startMotoServer();
});

afterAll(async () => {
  await moto?.stop();
});

test('answers S3 calls of the real SDK at its endpoint, and is gone after stop', async () => {
  expect(moto.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  expect(moto.env).toEqual({
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
    AWS_REGION: 'us-east-1',
    AWS_ENDPOINT_URL: moto.endpoint,
  });
  const s3 = new S3Client({
    endpoint: moto.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  });
  await s3.send(new CreateBucketCommand({ Bucket: 'moto-smoke' }));
  const { Buckets } = await s3.send(new ListBucketsCommand({}));
  expect(Buckets?.map((b) => b.Name)).toContain('moto-smoke');
  s3.destroy();

  await moto.stop();
  await moto.stop(); // idempotent
  await expect(fetch(`${moto.endpoint}/moto-api/`)).rejects.toThrow();
});
