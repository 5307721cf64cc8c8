// No secret — a password in a URL, an AWS secret key, the signing key — appears in anything restore-drill
// prints or writes: stdout, stderr, reports (also inside the signed payload), Markdown, HTML, JUnit, summaries.
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { generateKeyPair } from '../evidence/signing-key.ts';
import { startMotoServer, type MotoServer } from '../testing/moto-server.ts';
import { runCli, type CliOutcome } from '../testing/run-cli.ts';
import { startShopDatabase, type ShopDatabase } from '../testing/shop-database.ts';

let dir: string;
let shop: ShopDatabase;
let moto: MotoServer;
const AWS_SECRET = 'wJalrXUtnFEMI-K7MDENG-bPxRfiCYSECRETKEY';
const outputs: CliOutcome[] = [];
let secrets: string[];
let env: Record<string, string>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'secrets-test-'));
  [shop, moto] = await Promise.all([startShopDatabase(), startMotoServer()]);
  const keys = generateKeyPair(join(dir, 'keys'));
  const pem = readFileSync(keys.privatePath, 'utf8');
  const keyBody = pem
    .split('\n')
    .filter((l) => l && !l.startsWith('-----'))
    .join('');
  const password = String(shop.environment.connectionConfig().password);
  secrets = [password, encodeURIComponent(password), AWS_SECRET, keyBody];
  env = {
    ...moto.env,
    AWS_SECRET_ACCESS_KEY: AWS_SECRET,
    AWS_CONFIG_FILE: join(dir, 'none'),
    AWS_SHARED_CREDENTIALS_FILE: join(dir, 'none'),
    RESTORE_DRILL_SIGNING_KEY: pem, // the key's content in the environment, as CI secret stores pass it
  };
  const s3 = new S3Client({
    endpoint: moto.endpoint,
    forcePathStyle: true,
    region: 'us-east-1',
    credentials: { accessKeyId: 'testing', secretAccessKey: AWS_SECRET },
  });
  await s3.send(new CreateBucketCommand({ Bucket: 'backups' }));
  s3.destroy();
});
afterAll(async () => {
  await Promise.all([shop?.stop(), moto?.stop()]);
  await rm(dir, { recursive: true, force: true });
});

test('every output of mark, dump, check (passing and failing) and verify is free of the secrets it used', async () => {
  const c = shop.environment.connectionConfig();
  const url = `postgres://${c.user}:${encodeURIComponent(String(c.password))}@${encodeURIComponent(String(c.host))}:${c.port}/${c.database}`;
  const badUrl = `postgres://${c.user}:${encodeURIComponent(String(c.password))}x@${encodeURIComponent(String(c.host))}:${c.port}/${c.database}`;
  const reports = join(dir, 'reports');
  const run = async (args: string[]) => {
    const out = await runCli(args, { env });
    outputs.push(out);
    return out;
  };
  expect((await run(['mark', '--url', url])).code).toBe(0);
  expect((await run(['mark', '--url', badUrl])).code).toBe(2); // wrong password: the error must not echo it
  expect((await run(['dump', '--url', url, '--out', 's3://backups/shop/'])).code).toBe(0);
  expect((await run(['check', '--dump', 's3://backups/shop/', '--report-dir', reports])).code).toBe(0);
  expect((await run(['check', '--dump', 's3://backups/shop/', '--rpo', '1s', '--report-dir', reports])).code).toBe(1);
  expect((await run(['check', '--dump', 's3://backups/nothing/', '--report-dir', reports])).code).toBe(1);
  expect((await run(['verify', '--key', join(dir, 'keys', 'signing-key.pub.pem'), '--ledger', reports])).code).toBe(0);

  const texts: Array<[string, string]> = outputs.flatMap(
    (o, i) =>
      [
        [`stdout #${i}`, o.stdout],
        [`stderr #${i}`, o.stderr],
      ] as Array<[string, string]>,
  );
  for (const name of await readdir(reports)) {
    const text = await readFile(join(reports, name), 'utf8');
    texts.push([name, text]);
    if (name.endsWith('.report.json'))
      texts.push([`${name} payload`, Buffer.from(JSON.parse(text).payload, 'base64').toString('utf8')]);
  }
  expect(texts.length).toBeGreaterThan(14);
  for (const [where, text] of texts) {
    for (const secret of secrets) expect(text.includes(secret), `a secret in ${where}`).toBe(false);
    expect(text, where).not.toMatch(/PGPASSWORD=\S/);
  }
});
