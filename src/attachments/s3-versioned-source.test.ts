import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { DeleteObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ConfigError } from '../errors.ts';
import { newRunId } from '../environments/labels.ts';
import { s3VersionedSource } from './s3-versioned-source.ts';
import { restoreAttachments } from './restore-attachments.ts';
import { takeAttachmentManifest } from './take-attachment-manifest.ts';
import { nextSecond, startVersionedBuckets, type VersionedBuckets } from './versioned-bucket.testkit.ts';

let buckets: VersionedBuckets;
let s3: S3Client;
/** The point in time between the "before" and "after" histories. */
let t: Date;
const versionOf: Record<string, string> = {};
const put = (bucket: string, key: string, body: string, sha256 = false) => buckets.put(bucket, key, body, sha256);

beforeAll(async () => {
  buckets = await startVersionedBuckets();
  s3 = buckets.s3;
  await buckets.bucket('attachments');
  await buckets.bucket('unversioned', false);
  // Before T: kept, overwritten later, deleted later, deleted before T, and a unicode key with spaces.
  await put('attachments', 'up/2026-11/kept.pdf', 'kept', true);
  versionOf.overwritten = await put('attachments', 'up/2026-11/overwritten.pdf', 'old content');
  await put('attachments', 'up/2026-11/deleted-after.pdf', 'soon gone');
  await put('attachments', 'up/2026-10/deleted-before.pdf', 'gone before T');
  await put('attachments', 'up/2026-10/Résumé final (1).pdf', 'unicode and spaces', true);
  await put('attachments', 'up/top.txt', 'top-level');
  await put('attachments', 'other/outside-prefix.txt', 'not under the prefix');
  await s3.send(new DeleteObjectCommand({ Bucket: 'attachments', Key: 'up/2026-10/deleted-before.pdf' }));
  await nextSecond();
  t = new Date();
  await nextSecond();
  // After T: an overwrite, a delete, and a new key.
  await put('attachments', 'up/2026-11/overwritten.pdf', 'NEW CONTENT, longer');
  await s3.send(new DeleteObjectCommand({ Bucket: 'attachments', Key: 'up/2026-11/deleted-after.pdf' }));
  await put('attachments', 'up/2026-12/new-after.pdf', 'new');
}, 60_000);
afterAll(() => buckets?.stop());

describe('s3VersionedSource', () => {
  test('the view at T holds exactly the versions current then, across pages', async () => {
    const source = s3VersionedSource({ bucket: 'attachments', prefix: 'up/', at: t, client: s3 });
    const logs: string[] = [];
    const [view] = await source.views([t], { pageSize: 2, log: (line) => logs.push(line) });
    expect(view!.objects.map((o) => [o.key, o.size])).toEqual([
      ['up/2026-10/Résumé final (1).pdf', 18],
      ['up/2026-11/deleted-after.pdf', 9],
      ['up/2026-11/kept.pdf', 4],
      ['up/2026-11/overwritten.pdf', 11],
      ['up/top.txt', 9],
    ]);
    expect(view!.objects.find((o) => o.key.endsWith('overwritten.pdf'))!.versionId).toBe(versionOf.overwritten);
    expect(view!.versionsListed).toBe(10);
    expect(view!.sameSecond).toEqual([]);
  });

  test('restores the view at T into a labelled directory, byte for byte, and removes it', async () => {
    const source = s3VersionedSource({
      bucket: 'attachments',
      prefix: 'up/',
      at: 'recovery-point',
      client: s3,
      concurrency: 2,
    });
    const manifest = await takeAttachmentManifest(source, t);
    expect(manifest).toMatchObject({ objects: 5, bytes: 51, checksums: { s3: 2, computed: 3, archived: 0 } });
    expect(Object.keys(manifest.groups)).toEqual(['(top)', '2026-10/', '2026-11/']);

    const restore = await restoreAttachments(source, { recoveryPointAt: t, manifest, runId: newRunId() });
    const root = join(restore.restored.directory!, '..');
    try {
      expect(restore.checks.map((c) => [c.status, c.detail])).toEqual([
        ['passed', undefined],
        ['passed', undefined],
      ]);
      expect(await readFile(join(restore.restored.directory!, 'up/2026-11/overwritten.pdf'), 'utf8')).toBe(
        'old content',
      );
      expect(await readFile(join(restore.restored.directory!, 'up/2026-10/Résumé final (1).pdf'), 'utf8')).toBe(
        'unicode and spaces',
      );
      expect((await readdir(join(restore.restored.directory!, 'up/2026-11'))).sort()).toEqual([
        'deleted-after.pdf',
        'kept.pdf',
        'overwritten.pdf',
      ]);
      expect(JSON.parse(await readFile(join(root, 'restore-drill.json'), 'utf8'))).toMatchObject({
        tool: 'restore-drill',
        kind: 'attachments-dir',
      });
    } finally {
      await restore.remove();
    }
    await expect(stat(root)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  test('a manifest taken at the marker time is compared with the view at that time while the restore is at the recovery point', async () => {
    const source = s3VersionedSource({ bucket: 'attachments', prefix: 'up/', at: 'recovery-point', client: s3 });
    const manifest = await takeAttachmentManifest(source, t);
    await using restore = await restoreAttachments(source, {
      recoveryPointAt: new Date(),
      manifest,
      runId: newRunId(),
    });
    expect(restore.restored.view.objects.map((o) => o.key)).toContain('up/2026-12/new-after.pdf');
    expect(restore.checks.map((c) => c.status)).toEqual(['passed', 'passed']);
  });

  test('a version removed after the manifest was taken fails the comparison, naming its group', async () => {
    const source = s3VersionedSource({ bucket: 'attachments', prefix: 'damaged/', at: 'recovery-point', client: s3 });
    await put('attachments', 'damaged/a/one.pdf', 'one');
    const lost = await put('attachments', 'damaged/b/two.pdf', 'two');
    await put('attachments', 'damaged/b/three.pdf', 'three');
    await nextSecond();
    const at = new Date();
    const manifest = await takeAttachmentManifest(source, at);
    // Someone removes the version itself (not a delete marker): the history no longer holds it.
    await s3.send(new DeleteObjectCommand({ Bucket: 'attachments', Key: 'damaged/b/two.pdf', VersionId: lost }));
    await using restore = await restoreAttachments(source, { recoveryPointAt: at, manifest, runId: newRunId() });
    const compared = restore.checks[1]!;
    expect(compared.status).toBe('failed');
    expect(compared.detail).toMatch(
      /^group b\/: expected 2 objects, 8 bytes, sum \d+, restored 1 objects, 5 bytes, sum \d+$/,
    );
    expect(compared.detail).not.toMatch(/group a\//);
  });

  test('archived objects and keys that are not safe paths are named, not written', async () => {
    const source = s3VersionedSource({ bucket: 'attachments', prefix: 'odd/', at: 'recovery-point', client: s3 });
    await s3.send(
      new PutObjectCommand({ Bucket: 'attachments', Key: 'odd/cold.pdf', Body: 'frozen', StorageClass: 'GLACIER' }),
    );
    await put('attachments', 'odd/../escape.txt', 'outside');
    await put('attachments', 'odd/fine.txt', 'fine');
    await nextSecond();
    const at = new Date();
    const manifest = await takeAttachmentManifest(source, at);
    expect(manifest.checksums).toEqual({ s3: 0, computed: 2, archived: 1 });
    await using restore = await restoreAttachments(source, { recoveryPointAt: at, manifest, runId: newRunId() });
    expect(restore.restored.failed).toEqual(
      [
        { key: 'odd/../escape.txt', reason: 'key is not a safe path (empty, . or .. segment); not written' },
        { key: 'odd/cold.pdf', reason: 'archived in GLACIER: restore it from the archive class before the drill' },
      ].sort((a, b) => (a.key < b.key ? -1 : 1)),
    );
    expect(restore.checks.map((c) => c.status)).toEqual(['failed', 'failed']);
    expect(restore.checks[1]!.detail).toContain('1 objects were archived when the manifest was taken');
    await expect(stat(join(restore.restored.directory!, '../escape.txt'))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await readFile(join(restore.restored.directory!, 'odd/fine.txt'), 'utf8')).toBe('fine');
  });

  test('an unversioned bucket fails with one line saying so', async () => {
    const source = s3VersionedSource({ bucket: 'unversioned', at: new Date(), client: s3 });
    const error = await source.views([new Date()]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toBe(
      'S3 bucket unversioned has no versioning: its objects cannot be brought back to a point in time',
    );
  });
});
