import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { newRunId } from '../environments/labels.ts';
import { runCli } from '../testing/run-cli.ts';
import { startShopDatabase, type ShopDatabase } from '../testing/shop-database.ts';
import { attachmentsCheck, evaluateAttachmentsCheck } from './attachments-check.ts';
import { attachmentManifestPathFor, parseAttachmentManifestsText, readAttachmentManifest } from './manifest-store.ts';
import { restoreAttachments } from './restore-attachments.ts';
import { s3VersionedSource } from './s3-versioned-source.ts';
import { nextSecond, startVersionedBuckets, type VersionedBuckets } from './versioned-bucket.testkit.ts';

let shop: ShopDatabase;
let buckets: VersionedBuckets;
let db: pg.Client;
let dir: string;
let env: Record<string, string>;

beforeAll(async () => {
  [shop, buckets] = await Promise.all([startShopDatabase(), startVersionedBuckets()]);
  dir = await mkdtemp(join(tmpdir(), 'mark-attachments-test-'));
  const c = shop.environment.connectionConfig();
  env = {
    ...buckets.moto.env,
    PROD_URL: `postgres://${c.user}:${encodeURIComponent(String(c.password))}@${encodeURIComponent(String(c.host))}:${c.port}/${c.database}`,
  };
  db = new pg.Client(c);
  await db.connect();
  await buckets.bucket('files');
  await buckets.bucket('plain', false);
  await buckets.put('files', 'up/invoice 1.pdf', 'invoice one', true);
  await buckets.put('files', 'up/photos/ü.jpg', 'a photo');
  await db.query(
    "create table attachments (id int primary key, storage_key text); insert into attachments values (1, 'up/invoice 1.pdf'), (2, 'up/photos/ü.jpg'), (3, null)",
  );
  await nextSecond();
}, 120_000);
afterAll(async () => {
  await db?.end();
  await Promise.all([shop?.stop(), buckets?.stop()]);
  await rm(dir, { recursive: true, force: true });
});

describe('restore-drill mark --s3', () => {
  test('records an attachment manifest at the marker time; the restore at that time agrees with it and with the database', async () => {
    const out = await runCli(['mark', '--url-env', 'PROD_URL', '--table', 'attachments', '--s3', 's3://files/up/'], {
      env,
    });
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(
      /attachments s3:\/\/files\/up\/ at \S+: 2 objects, 18 bytes \(1 SHA-256 from S3, 1 computed\)/,
    );
    // After the marker: a new upload and a row pointing at it.
    await nextSecond();
    await buckets.put('files', 'up/late.pdf', 'uploaded after the marker');
    await db.query("insert into attachments values (4, 'up/late.pdf')");

    const manifest = (await readAttachmentManifest(db, 'files', 'up/'))!;
    const markerAt = (
      await db.query<{ t: Date }>('select taken_at as t from restore_drill.markers order by id desc limit 1')
    ).rows[0]!.t;
    expect(new Date(manifest.at).getTime()).toBe(markerAt.getTime());
    const source = s3VersionedSource({ bucket: 'files', prefix: 'up/', at: 'recovery-point', client: buckets.s3 });
    await using restore = await restoreAttachments(source, {
      recoveryPointAt: new Date(manifest.at),
      manifest,
      runId: newRunId(),
    });
    expect(restore.checks.map((c) => c.status)).toEqual(['passed', 'passed']);

    // A row pointing to a key that did not exist at the recovery point fails the cross-check, naming the key.
    const check = attachmentsCheck({
      query: 'select storage_key from attachments order by id',
      source,
      everyObjectReferenced: true,
    });
    const failed = await evaluateAttachmentsCheck(check, db, restore.restored);
    expect(failed).toMatchObject({ status: 'failed', actual: '2 of 3 keys found, 0 unreferenced objects' });
    expect(failed.detail).toBe(
      `missing or empty in s3://files/up/ at ${manifest.at}: "up/late.pdf"; 1 rows with no key (null) were not checked`,
    );
    await db.query('delete from attachments where id = 4');
    expect((await evaluateAttachmentsCheck(check, db, restore.restored)).status).toBe('passed');
    await db.query('insert into attachments values (4, null)');
  });

  test('a bucket without versioning: one line, exit 2, and no marker written', async () => {
    const before = (await db.query<{ n: number }>('select count(*)::int as n from restore_drill.markers')).rows[0]!.n;
    const out = await runCli(['mark', '--url-env', 'PROD_URL', '--s3', 's3://plain/'], { env });
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(
      /^restore-drill: S3 bucket plain has no versioning: its objects cannot be brought back to a point in time/,
    );
    expect(out.stderr.trim().split('\n').length).toBeLessThanOrEqual(2);
    expect((await db.query<{ n: number }>('select count(*)::int as n from restore_drill.markers')).rows[0]!.n).toBe(
      before,
    );
  });
});

describe('restore-drill dump --s3', () => {
  test("writes the attachment manifest beside the dump, at the dump snapshot's time", async () => {
    const dump = join(dir, 'shop.dump');
    const out = await runCli(['dump', '--url-env', 'PROD_URL', '--out', dump, '--s3', 's3://files/up/'], { env });
    expect(out.code).toBe(0);
    const [manifest] = parseAttachmentManifestsText(await readFile(attachmentManifestPathFor(dump), 'utf8'), 'beside');
    const dumpManifest = JSON.parse(await readFile(`${dump}.manifest.json`, 'utf8')) as { takenAt: string };
    expect(manifest).toMatchObject({
      bucket: 'files',
      prefix: 'up/',
      at: new Date(dumpManifest.takenAt).toISOString(),
      objects: 3,
    });
  });
});
