import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ConfigError } from '../../errors.ts';
import { createMotoAccessKey, startMotoServer, type MotoServer } from '../../testing/moto-server.ts';
import { startShopDatabase, type ShopDatabase } from '../../testing/shop-database.ts';
import { freePort } from '../../util/free-port.ts';
import { inspectLocalDump } from '../local-dump.ts';
import { createS3Client } from '../../aws/s3-client.ts';
import { s3DumpSource } from './s3-dump-source.ts';
import type { SourceContext } from '../source.ts';
import { uploadDump } from './upload-dump.ts';

/** Every variable the SDK's standard configuration reads; the host's own AWS setup must not leak in. */
const AWS_VARS = [
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_REGION',
  'AWS_DEFAULT_REGION',
  'AWS_PROFILE',
  'AWS_ENDPOINT_URL',
  'AWS_ENDPOINT_URL_S3',
  'AWS_IGNORE_CONFIGURED_ENDPOINT_URLS',
  'AWS_CONFIG_FILE',
  'AWS_SHARED_CREDENTIALS_FILE',
];
const savedEnv = Object.fromEntries(AWS_VARS.map((name) => [name, process.env[name]]));

/** Replaces all AWS_* configuration with `env` (plus config files that do not exist). */
function useAwsEnv(env: Record<string, string>): void {
  for (const name of AWS_VARS) delete process.env[name];
  Object.assign(
    process.env,
    { AWS_CONFIG_FILE: join(root, 'no-aws-config'), AWS_SHARED_CREDENTIALS_FILE: join(root, 'no-aws-credentials') },
    env,
  );
}

let shop: ShopDatabase;
let moto: MotoServer;
let s3: S3Client;
let root: string;
let older: string;
let newer: string;
let directory: string;
const logs: string[] = [];

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));
const context = (): SourceContext => ({ workDir: root, log: (line) => logs.push(line) });

async function configError(promise: Promise<unknown>): Promise<ConfigError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ConfigError);
  expect((error as ConfigError).exitCode).toBe(2);
  expect((error as ConfigError).message).not.toContain('\n');
  return error as ConfigError;
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 's3-dump-source-test-'));
  moto = await startMotoServer();
  useAwsEnv(moto.env);
  s3 = await createS3Client();
  shop = await startShopDatabase();
  older = await shop.dump(join(root, 'older.dump'), 'custom');
  await shop.query('create table late_addition (id int primary key)');
  newer = await shop.dump(join(root, 'newer.dump'), 'custom');
  directory = await shop.dump(join(root, 'shop.dir'), 'directory');
  await s3.send(new CreateBucketCommand({ Bucket: 'drills' }));
});

afterAll(async () => {
  s3?.destroy();
  await moto?.stop();
  await shop?.stop();
  for (const [name, value] of Object.entries(savedEnv)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  if (root) await rm(root, { recursive: true, force: true });
});

describe('createS3Client', () => {
  test('forces path-style addressing whenever a custom endpoint is configured', async () => {
    expect(process.env.AWS_ENDPOINT_URL).toBe(moto.endpoint);
    expect(s3.config.forcePathStyle).toBe(true);
    try {
      delete process.env.AWS_ENDPOINT_URL;
      process.env.AWS_ENDPOINT_URL_S3 = moto.endpoint;
      expect((await createS3Client()).config.forcePathStyle).toBe(true);
      delete process.env.AWS_ENDPOINT_URL_S3;
      expect((await createS3Client({ endpoint: moto.endpoint })).config.forcePathStyle).toBe(true);
      expect((await createS3Client()).config.forcePathStyle).toBe(false);
    } finally {
      useAwsEnv(moto.env);
    }
  });

  test('uses the configured region, and us-east-1 only when none is configured', async () => {
    try {
      process.env.AWS_REGION = 'eu-west-3';
      expect(await (await createS3Client()).config.region()).toBe('eu-west-3');
      expect(await (await createS3Client({ region: 'ap-south-1' })).config.region()).toBe('ap-south-1');
      delete process.env.AWS_REGION;
      expect(await (await createS3Client()).config.region()).toBe('us-east-1');
    } finally {
      useAwsEnv(moto.env);
    }
  });
});

describe('s3DumpSource', () => {
  beforeAll(async () => {
    // LastModified has one-second resolution: the pause makes the upload order the time order.
    await uploadDump(older, 's3://drills/shop/');
    await sleep(1100);
    await uploadDump(newer, 's3://drills/shop/');
    await sleep(1100);
    // Newer still, but not dumps: a checksum file and a note must not be picked.
    await s3.send(new PutObjectCommand({ Bucket: 'drills', Key: 'shop/newer.dump.sha256', Body: 'abc  newer.dump\n' }));
    await s3.send(new PutObjectCommand({ Bucket: 'drills', Key: 'shop/README', Body: 'nightly dumps\n' }));
  });

  test('lists the dumps under a prefix, newest LastModified first, with their facts', async () => {
    const source = s3DumpSource('s3://drills/shop/');
    expect(source.kind).toBe('s3-dump');
    expect(source.describe()).toBe('s3-dump s3://drills/shop/');
    const points = await source.list(context());
    expect(points.map((p) => [p.id, p.createdAtBasis])).toEqual([
      ['s3://drills/shop/newer.dump', 's3-last-modified'],
      ['s3://drills/shop/older.dump', 's3-last-modified'],
    ]);
    expect(points[0]!.createdAt.getTime()).toBeGreaterThan(points[1]!.createdAt.getTime());
    const size = (await readFile(newer)).length;
    expect(points[0]!.facts).toMatchObject({
      layout: 'object',
      format: 'custom',
      sizeBytes: size,
      etag: expect.stringMatching(/^"[0-9a-f]+"$/),
      storageClass: 'STANDARD',
      region: 'us-east-1',
      bucket: 'drills',
      database: 'restored',
      serverVersion: expect.stringMatching(new RegExp(`^${shop.environment.version}\\b`)),
    });
    expect(points[0]!.facts).toHaveProperty('serverSideEncryption');
  });

  test('fetch streams the object into the work dir; its digest equals the local file digest', async () => {
    const source = s3DumpSource('s3://drills/shop/');
    const [latest] = await source.list(context());
    logs.length = 0;
    const { kind, dump } = await source.fetch(latest!, context());
    expect(kind).toBe('pg-dump');
    expect(dump.path.startsWith(root)).toBe(true);
    expect(dump.format).toBe('custom');
    expect(dump.digest).toBe((await inspectLocalDump(newer)).digest);
    expect(dump.manifest).toBeUndefined();
    expect(logs[0]).toMatch(/^download: s3:\/\/drills\/shop\/newer\.dump \(\d+\.\d MiB\)$/);
    expect(logs.at(-1)).toMatch(/^download: done, \d+\.\d MiB in \d+\.\d s$/);
  });

  test('a single object URI lists just that dump', async () => {
    const points = await s3DumpSource('s3://drills/shop/older.dump').list(context());
    expect(points.map((p) => p.id)).toEqual(['s3://drills/shop/older.dump']);
  });

  test('a directory dump in a prefix is one recovery point, downloaded file by file', async () => {
    await uploadDump(older, 's3://drills/mixed/');
    await sleep(1100);
    await uploadDump(directory, 's3://drills/mixed/');
    const source = s3DumpSource({ bucket: 'drills', prefix: 'mixed' });
    const points = await source.list(context());
    expect(points.map((p) => [p.id, p.facts.layout, p.facts.format])).toEqual([
      ['s3://drills/mixed/shop.dir', 'directory', 'directory'],
      ['s3://drills/mixed/older.dump', 'object', 'custom'],
    ]);
    expect(points[0]!.facts.files).toBeGreaterThan(1);
    const { dump } = await source.fetch(points[0]!, context());
    expect(dump.format).toBe('directory');
    expect(dump.digest).toBe((await inspectLocalDump(directory)).digest);
    // The same directory dump named by its key, without the trailing slash.
    expect((await s3DumpSource('s3://drills/mixed/shop.dir').list(context())).map((p) => p.id)).toEqual([
      's3://drills/mixed/shop.dir',
    ]);
  });

  test('the manifest travels with the dump and gives the time (basis manifest)', async () => {
    const local = join(root, 'with-manifest');
    await mkdir(local);
    const path = join(local, 'shop.dump');
    await writeFile(path, await readFile(older));
    const manifest = {
      format: 'restore-drill.manifest/v1',
      takenAt: '2026-01-02T03:04:05.000Z',
      serverVersion: '15',
      database: 'shop',
      tables: {},
    };
    await writeFile(`${path}.manifest.json`, JSON.stringify(manifest));
    const uploaded = await uploadDump(path, 's3://drills/manifested/');
    expect(uploaded).toMatchObject({ uri: 's3://drills/manifested/shop.dump', objects: 2 });

    const source = s3DumpSource('s3://drills/manifested/');
    const [point, ...rest] = await source.list(context());
    expect(rest).toEqual([]);
    expect(point).toMatchObject({ id: 's3://drills/manifested/shop.dump', createdAtBasis: 'manifest' });
    expect(point!.createdAt.toISOString()).toBe('2026-01-02T03:04:05.000Z');
    const { dump } = await source.fetch(point!, context());
    expect(dump.manifest).toEqual(manifest);
    expect(logs.at(-1)).toMatch(/, with manifest$/);
  });

  test('a large file goes up in parts and comes back whole', async () => {
    const path = join(root, 'big.dump');
    await writeFile(path, Buffer.concat([await readFile(older), randomBytes(11 * 1024 * 1024)]));
    await uploadDump(path, 's3://drills/big/', undefined, { partSizeBytes: 5 * 1024 * 1024 });
    const source = s3DumpSource('s3://drills/big/big.dump');
    const [point] = await source.list(context());
    expect(point!.facts.sizeBytes).toBe((await readFile(path)).length);
    const { dump } = await source.fetch(point!, context());
    expect(dump.digest).toBe((await inspectLocalDump(path)).digest);
  });
});

describe('s3DumpSource errors', () => {
  test('an empty prefix', async () => {
    const error = await configError(s3DumpSource('s3://drills/nothing-here/').list(context()));
    expect(error.message).toBe('no dumps under s3://drills/nothing-here/');
    expect(error.hint).toMatch(/restore-drill dump/);
  });

  test('a missing object', async () => {
    const error = await configError(s3DumpSource('s3://drills/shop/missing.dump').list(context()));
    expect(error.message).toBe('no dump at s3://drills/shop/missing.dump');
  });

  test('a bucket that does not exist', async () => {
    const error = await configError(s3DumpSource('s3://no-such-bucket-here/').list(context()));
    expect(error.message).toBe('no such S3 bucket: no-such-bucket-here');
  });

  test('an endpoint nobody listens on', async () => {
    const endpoint = `http://127.0.0.1:${await freePort()}`;
    const error = await configError(s3DumpSource({ bucket: 'drills', endpoint }).list(context()));
    expect(error.message).toBe(`cannot reach S3 at ${endpoint} for s3://drills/: ECONNREFUSED`);
    expect(error.hint).toMatch(/AWS_ENDPOINT_URL/);
  });

  describe('with moto checking credentials', () => {
    let strict: MotoServer;
    let key: { accessKeyId: string; secretAccessKey: string };

    beforeAll(async () => {
      // Three unchecked calls: create the IAM user, its access key, and the bucket. Then moto checks every request.
      strict = await startMotoServer({ env: { INITIAL_NO_AUTH_ACTION_COUNT: '3' } });
      key = await createMotoAccessKey(strict, 'drill-reader');
      const setup = new S3Client({
        endpoint: strict.endpoint,
        forcePathStyle: true,
        region: 'us-east-1',
        credentials: key,
      });
      await setup.send(new CreateBucketCommand({ Bucket: 'locked' }));
      setup.destroy();
    });

    afterAll(async () => {
      await strict?.stop();
      useAwsEnv(moto.env);
    });

    const listWith = (credentials: Record<string, string>) => {
      useAwsEnv({ ...strict.env, ...credentials });
      return configError(s3DumpSource('s3://locked/').list(context()));
    };

    test('an unknown access key', async () => {
      const error = await listWith({
        AWS_ACCESS_KEY_ID: 'AKIANOSUCHKEY0000000',
        AWS_SECRET_ACCESS_KEY: 'wrong-secret-value',
      });
      expect(error.message).toBe(
        `S3 at ${strict.endpoint} refused the credentials (InvalidAccessKeyId) for s3://locked/`,
      );
      expect(error.hint).toMatch(/AWS_PROFILE.*AWS_ACCESS_KEY_ID/);
      expect(`${error.message} ${error.hint}`).not.toContain('wrong-secret-value');
    });

    test('a wrong secret', async () => {
      const error = await listWith({ AWS_ACCESS_KEY_ID: key.accessKeyId, AWS_SECRET_ACCESS_KEY: 'wrong-secret-value' });
      expect(error.message).toBe(
        `S3 at ${strict.endpoint} refused the credentials (SignatureDoesNotMatch) for s3://locked/`,
      );
    });

    test('valid credentials without permission', async () => {
      const error = await listWith({ AWS_ACCESS_KEY_ID: key.accessKeyId, AWS_SECRET_ACCESS_KEY: key.secretAccessKey });
      expect(error.message).toBe(`S3 at ${strict.endpoint} denied access to s3://locked/ (AccessDenied)`);
      expect(`${error.message} ${error.hint}`).not.toContain(key.secretAccessKey);
    });
  });
});
