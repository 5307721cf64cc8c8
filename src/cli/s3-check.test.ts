import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { generateKeyPair } from '../report/signing-key.ts';
import { createMotoAccessKey, startMotoServer, type MotoServer } from '../testing/moto-server.ts';
import { hasStackTrace, runCli } from '../testing/run-cli.ts';
import { startShopDatabase, type ShopDatabase } from '../testing/shop-database.ts';

let moto: MotoServer;
let shop: ShopDatabase;
let dir: string;
let url: string;
let key: string;
let awsEnv: Record<string, string>;

beforeAll(async () => {
  [moto, shop] = await Promise.all([startMotoServer(), startShopDatabase()]);
  dir = await mkdtemp(join(tmpdir(), 's3-check-test-'));
  key = generateKeyPair(join(dir, 'keys')).privatePath;
  const c = shop.environment.connectionConfig();
  url = `postgres://${c.user}:${encodeURIComponent(String(c.password))}@${encodeURIComponent(String(c.host))}:${c.port}/${c.database}`;
  // No AWS config files of the machine: only what the test sets.
  awsEnv = { ...moto.env, AWS_CONFIG_FILE: join(dir, 'none'), AWS_SHARED_CREDENTIALS_FILE: join(dir, 'none'), AWS_ENDPOINT_URL_S3: '' };
  const s3 = new S3Client({ endpoint: moto.endpoint, forcePathStyle: true, region: 'us-east-1', credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } });
  await s3.send(new CreateBucketCommand({ Bucket: 'backups' }));
  s3.destroy();
});
afterAll(async () => {
  await Promise.all([moto?.stop(), shop?.stop()]);
  await rm(dir, { recursive: true, force: true });
});

const cli = (args: string[], env: Record<string, string> = awsEnv) => runCli(args, { env });

describe('S3 end to end (moto_server)', () => {
  test('dump --out s3://…/ then check --dump s3://…/ passes against the manifest that travelled with it', async () => {
    const dumped = await cli(['dump', '--url', url, '--out', 's3://backups/shop/']);
    expect(dumped.code).toBe(0);
    expect(dumped.stdout).toMatch(/to s3:\/\/backups\/shop\/dump-\d{8}T\d{6}Z\.dump .*with its manifest/);
    const checked = await cli(['check', '--dump', 's3://backups/shop/', '--rpo', '1h', '--report-dir', join(dir, 'reports'), '--signing-key', key]);
    expect(checked.stdout).toContain('PASSED');
    expect(checked.code).toBe(0);
    const md = (await readdir(join(dir, 'reports'))).find((n) => n.endsWith('.report.md'))!;
    const text = await readFile(join(dir, 'reports', md), 'utf8');
    expect(text).toMatch(/s3-dump/);
    expect(text).toMatch(/from manifest/);
  });

  test('an empty prefix: one line, exit 1, a signed failed report', async () => {
    const out = await cli(['check', '--dump', 's3://backups/nothing-here/', '--report-dir', join(dir, 'reports'), '--signing-key', key]);
    expect(out.code).toBe(1);
    expect(out.stdout).toMatch(/no dumps under s3:\/\/backups\/nothing-here\//);
    expect(hasStackTrace(out.stdout + out.stderr)).toBe(false);
  });

  test('a bucket that does not exist: one line, exit 1', async () => {
    const out = await cli(['check', '--dump', 's3://no-such-bucket/x/', '--report-dir', join(dir, 'reports'), '--signing-key', key]);
    expect(out.code).toBe(1);
    expect(out.stdout).toMatch(/no-such-bucket/);
  });

  test('wrong credentials: one line naming the problem, never the secret', async () => {
    await using strict = await startMotoServer({ env: { INITIAL_NO_AUTH_ACTION_COUNT: '2' } });
    await createMotoAccessKey(strict, 'drill');
    const secret = 'wrong-secret-value-1234567890';
    const out = await cli(
      ['check', '--dump', 's3://backups/shop/', '--report-dir', join(dir, 'reports'), '--signing-key', key],
      { ...awsEnv, ...strict.env, AWS_ACCESS_KEY_ID: 'AKIANOSUCHKEY0000000', AWS_SECRET_ACCESS_KEY: secret },
    );
    expect(out.code).toBe(1);
    expect(out.stdout).toMatch(/refused the credentials \(InvalidAccessKeyId\)/);
    expect(out.stdout + out.stderr).not.toContain(secret);
    const reports = await readdir(join(dir, 'reports'));
    for (const name of reports) expect(await readFile(join(dir, 'reports', name), 'utf8')).not.toContain(secret);
  });
});
