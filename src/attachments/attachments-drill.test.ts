import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteObjectCommand, ListBucketsCommand } from '@aws-sdk/client-s3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { newRunId } from '../environments/labels.ts';
import { runDrill } from '../drill/run-drill.ts';
import { erasureReplay } from '../erasure/erasure-replay.ts';
import { generateKeyPair } from '../evidence/signing-key.ts';
import { dumpWithManifest } from '../markers/dump-with-manifest.ts';
import { writeMarker } from '../markers/take-marker.ts';
import { fileSource } from '../sources/file/file-source.ts';
import { startShopDatabase, type ShopDatabase } from '../testing/shop-database.ts';
import { attachmentsCheck } from './attachments-check.ts';
import {
  recordAttachmentManifests,
  takeAttachmentManifests,
  writeAttachmentManifestsBeside,
} from './mark-attachments.ts';
import type { ScratchOptions } from './restore-to-scratch.ts';
import { s3VersionedSource } from './s3-versioned-source.ts';
import { verifyAttachments } from './verify-attachments.ts';
import { nextSecond, startVersionedBuckets, type VersionedBuckets } from './versioned-bucket.testkit.ts';

// One drill restores the database and its attachments to the same recovery point, proves they agree, replays
// the erasures made since, and signs a report saying so; the faults below must fail it.
let shop: ShopDatabase;
let buckets: VersionedBuckets;
let dir: string;
let url: string;
let signingKey: string;
let erased: string;

const SUBJECTS = 'select 1 from customers where email = $1';
const APPLY = 'delete from customers where email = $1';

beforeAll(async () => {
  [shop, buckets] = await Promise.all([startShopDatabase(), startVersionedBuckets()]);
  dir = await mkdtemp(join(tmpdir(), 'attachments-drill-test-'));
  signingKey = generateKeyPair(join(dir, 'keys')).privatePath;
  const c = shop.environment.connectionConfig();
  url = `postgres://${c.user}:${encodeURIComponent(String(c.password))}@${encodeURIComponent(String(c.host))}:${c.port}/${c.database}`;
  await buckets.bucket('files');
  await buckets.put('files', 'up/a.pdf', 'first version of a', true);
  await buckets.put('files', 'up/2026/b.pdf', 'b before the backup');
  // A customer without orders, erased in production after the backup: the restore brings them back.
  await shop.query(
    "insert into customers (email, name, country, created_at) values ('erased.h16@example.invalid', 'Erased', 'FR', now())",
  );
  erased = 'erased.h16@example.invalid';
  await shop.query(
    "create table attachments (id int primary key, storage_key text not null); insert into attachments values (1, 'up/a.pdf'), (2, 'up/2026/b.pdf')",
  );
  await nextSecond();
}, 180_000);
afterAll(async () => {
  await Promise.all([shop?.stop(), buckets?.stop()]);
  await rm(dir, { recursive: true, force: true });
});

const uploads = (scratch?: ScratchOptions) =>
  s3VersionedSource({ bucket: 'files', prefix: 'up/', at: 'recovery-point', client: buckets.s3, scratch });
const drillOptions = (name: string, backups: string, ledger: string, scratch?: ScratchOptions) => {
  const source = uploads(scratch);
  return {
    name,
    log: () => {},
    reportDir: join(dir, 'reports'),
    signingKey,
    source: fileSource(backups),
    attachments: [
      source,
      attachmentsCheck({ query: 'select storage_key from attachments', source, everyObjectReferenced: true }),
    ],
    erasure: erasureReplay({ ledger: { file: ledger }, apply: APPLY, subjects: SUBJECTS }),
  };
};
const ledgerOf = async (name: string, erasedDaysAgo: number) => {
  const path = join(dir, name);
  await writeFile(
    path,
    `subject_id,erased_at\n${erased},${new Date(Date.now() - erasedDaysAgo * 86400_000).toISOString()}\nnobody@example.invalid,2026-11-01T00:00:00Z\n`,
  );
  return path;
};

describe('a drill with attachments and an erasure replay', () => {
  test('restores the database and its attachments to the same recovery point, proves they agree, replays the erasures and passes', async () => {
    // `mark --s3`: the marker and the attachment manifest at its time, then a plain pg_dump carries both.
    const marker = await writeMarker(url);
    await recordAttachmentManifests(
      url,
      marker.id,
      await takeAttachmentManifests(['s3://files/up/'], new Date(marker.takenAt), { client: buckets.s3 }),
    );
    const backups = join(dir, 'backups-marked');
    await mkdir(backups);
    await shop.dump(join(backups, 'shop.dump'), 'custom');
    await nextSecond();
    // After the backup: an overwrite and a delete the restore must undo.
    await buckets.put('files', 'up/a.pdf', 'second version of a, after the backup');
    await buckets.s3.send(new DeleteObjectCommand({ Bucket: 'files', Key: 'up/2026/b.pdf' }));

    const result = await runDrill(drillOptions('attachments pass', backups, await ledgerOf('recent.csv', 2)));
    const mine = result.report.checks.filter((c) => /^(attachments|erasure)/.test(c.name));
    expect(mine.map((c) => [c.name.replace(/ at \S+$/, ''), c.status])).toEqual([
      ['attachments restored s3://files/up/', 'passed'],
      ['attachments s3://files/up/', 'passed'],
      ['attachments referenced by select storage_key from attachments', 'passed'],
      ['erasure reached the backups (30d)', 'passed'],
      ['erasure replay', 'passed'],
    ]);
    expect(mine.find((c) => c.name === 'erasure replay')!.detail).toMatch(
      /^2 subjects in the ledger, 1 brought back by the restore, 1 re-erased;/,
    );
    expect(result.status).toBe('passed');
    const written = await readFile(result.reportPath, 'utf8');
    expect(written).not.toContain(erased);
    expect(written).not.toContain('nobody@example.invalid');
  });

  test('a row pointing at a key that did not exist at the recovery point, and an erasure older than the retention, fail the drill', async () => {
    await shop.query("insert into attachments values (3, 'up/never-uploaded.pdf')");
    const backups = join(dir, 'backups-dumped');
    await mkdir(backups);
    const dumped = await dumpWithManifest(url, join(backups, 'shop.dump'), { format: 'custom' });
    await writeAttachmentManifestsBeside(
      dumped.path,
      await takeAttachmentManifests(['s3://files/up/'], new Date(dumped.manifest.takenAt), { client: buckets.s3 }),
    );
    await shop.query('delete from attachments where id = 3');

    // Restored into a scratch bucket in S3: removed although the drill fails.
    const lines: string[] = [];
    const result = await runDrill({
      ...drillOptions('attachments fault', backups, await ledgerOf('overdue.csv', 45), {}),
      log: (line) => lines.push(line),
    });
    expect(result.status).toBe('failed');
    expect(lines.join('\n')).toMatch(/restoring \d+ attachments into s3:\/\/restore-drill-rd\S+\//);
    const left = (await buckets.s3.send(new ListBucketsCommand({}))).Buckets?.map((b) => b.Name) ?? [];
    expect(left.filter((name) => name?.startsWith('restore-drill-'))).toEqual([]);
    const failed = result.report.checks.filter((c) => c.status === 'failed');
    expect(failed.map((c) => c.name)).toEqual([
      'attachments referenced by select storage_key from attachments',
      'erasure reached the backups (30d)',
    ]);
    // b.pdf was deleted after the first backup while its row stayed: at this recovery point it is missing too.
    expect(failed[0]!.detail).toMatch(
      /^missing or empty in s3:\/\/files\/up\/ at \S+: "up\/2026\/b\.pdf", "up\/never-uploaded\.pdf"$/,
    );
    expect(result.report.checks.find((c) => c.name.startsWith('attachments s3://files/up/ at '))).toMatchObject({
      status: 'passed',
    });
    expect(JSON.stringify(result.report)).not.toContain(erased);
  });

  test('a source that cannot be restored (no versioning) is a failed check naming why, and its reference checks are skipped', async () => {
    await buckets.bucket('plain', false);
    const plain = s3VersionedSource({ bucket: 'plain', at: 'recovery-point', client: buckets.s3 });
    const db = new pg.Client(shop.environment.connectionConfig());
    await db.connect();
    try {
      const point = {
        source: 'file',
        id: join(dir, 'no-such.dump'),
        createdAt: new Date(),
        createdAtBasis: 'test',
        facts: {},
      };
      const verified = await verifyAttachments(
        [attachmentsCheck({ query: 'select storage_key from attachments', source: plain })],
        { db, recoveryPoint: point, runId: newRunId(), drillName: 'plain', log: () => {} },
      );
      await verified.remove();
      expect(verified.checks.map((c) => [c.name, c.status])).toEqual([
        ['attachments restored s3://plain/', 'failed'],
        ['attachments referenced by select storage_key from attachments', 'skipped'],
      ]);
      expect(verified.checks[0]!.detail).toMatch(
        /^S3 bucket plain has no versioning: its objects cannot be brought back to a point in time — enable versioning/,
      );
    } finally {
      await db.end();
    }
  });
});
