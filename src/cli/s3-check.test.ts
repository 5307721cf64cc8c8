import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import pg from 'pg';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { generateKeyPair } from '../evidence/signing-key.ts';
import { createMotoAccessKey, startMotoServer, type MotoServer } from '../testing/moto-server.ts';
import { hasStackTrace, runCli } from '../testing/run-cli.ts';
import { startShopDatabase, type ShopDatabase } from '../testing/shop-database.ts';
import { uploadDump } from '../sources/s3/upload-dump.ts';

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
  awsEnv = {
    ...moto.env,
    AWS_CONFIG_FILE: join(dir, 'none'),
    AWS_SHARED_CREDENTIALS_FILE: join(dir, 'none'),
    AWS_ENDPOINT_URL_S3: '',
  };
  const s3 = new S3Client({
    endpoint: moto.endpoint,
    forcePathStyle: true,
    region: 'us-east-1',
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  });
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
    const checked = await cli([
      'check',
      '--dump',
      's3://backups/shop/',
      '--rpo',
      '1h',
      '--report-dir',
      join(dir, 'reports'),
      '--signing-key',
      key,
    ]);
    expect(checked.stdout).toContain('PASSED');
    expect(checked.code).toBe(0);
    const md = (await readdir(join(dir, 'reports'))).find((n) => n.endsWith('.report.md'))!;
    const text = await readFile(join(dir, 'reports', md), 'utf8');
    expect(text).toMatch(/s3-dump/);
    expect(text).toMatch(/from manifest/);
  });

  test('an empty prefix: one line, exit 1, a signed failed report', async () => {
    const out = await cli([
      'check',
      '--dump',
      's3://backups/nothing-here/',
      '--report-dir',
      join(dir, 'reports'),
      '--signing-key',
      key,
    ]);
    expect(out.code).toBe(1);
    expect(out.stdout).toMatch(/no dumps under s3:\/\/backups\/nothing-here\//);
    expect(hasStackTrace(out.stdout + out.stderr)).toBe(false);
  });

  test('a bucket that does not exist: one line, exit 1', async () => {
    const out = await cli([
      'check',
      '--dump',
      's3://no-such-bucket/x/',
      '--report-dir',
      join(dir, 'reports'),
      '--signing-key',
      key,
    ]);
    expect(out.code).toBe(1);
    expect(out.stdout).toMatch(/no-such-bucket/);
  });

  test('dump --out s3:// into a bucket that does not exist: one line, exit 2, before production is dumped', async () => {
    const out = await cli(['dump', '--url', url, '--out', 's3://no-such-bucket/shop/']);
    expect(out.code, out.stderr).toBe(2);
    expect(out.stderr).toMatch(/no such S3 bucket: no-such-bucket/);
    expect(out.stderr).not.toMatch(/snapshot .* exported/);
    expect(hasStackTrace(out.stderr)).toBe(false);
  });

  test('the upload puts the dump before its manifest, so a manifest never vouches for a dump not all there', async () => {
    const s3 = new S3Client({
      endpoint: moto.endpoint,
      forcePathStyle: true,
      region: 'us-east-1',
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    });
    const keys: string[] = [];
    s3.middlewareStack.add(
      (next) => async (args) => {
        keys.push(String((args.input as { Key?: string }).Key));
        return next(args);
      },
      { step: 'initialize', name: 'recordKeys' },
    );
    const local = join(dir, 'ordered');
    const dumped = await runCli(['dump', '--url', url, '--out', `${local}/`]);
    expect(dumped.code, dumped.stderr).toBe(0);
    await uploadDump(local, 's3://backups/ordered/', s3);
    s3.destroy();
    expect(keys.at(-1)).toBe('ordered/ordered.manifest.json');
    expect(keys.at(-2)).toBe('ordered/ordered/toc.dat');
  });

  test('a dump to S3 killed half-way leaves no copy of production behind', async () => {
    const tmp = await mkdtemp(join(dir, 'tmp-'));
    // A lock the dump waits for keeps it going until it is killed.
    const blocker = new pg.Client(shop.environment.connectionConfig());
    await blocker.connect();
    await blocker.query('begin; lock table public.orders in access exclusive mode');
    try {
      let killed = false;
      const out = await runCli(['dump', '--url', url, '--out', 's3://backups/killed/'], {
        env: { ...awsEnv, TMPDIR: tmp },
        onStderr: (text, child) => {
          if (!killed && /snapshot .* exported/.test(text)) {
            killed = true;
            child.kill('SIGKILL');
          }
        },
      });
      expect(out.signal).toBe('SIGKILL');
    } finally {
      await blocker.query('rollback').catch(() => {});
      await blocker.end();
    }
    // The watchdog removes the labelled work dir once the dump's process is gone (it checks every second).
    const workDirs = async () => (await readdir(tmp)).filter((n) => n.startsWith('restore-drill-dump-'));
    for (let i = 0; i < 150 && (await workDirs()).length > 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect(await workDirs()).toEqual([]);
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
