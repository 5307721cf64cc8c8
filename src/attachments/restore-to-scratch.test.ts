import {
  GetBucketTaggingCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadBucketCommand,
  ListObjectVersionsCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ConfigError } from '../errors.ts';
import { newRunId } from '../environments/labels.ts';
import { restoreAttachments } from './restore-attachments.ts';
import { s3VersionedSource } from './s3-versioned-source.ts';
import { cleanupScratch, findScratchLeftovers } from './scratch-leftovers.ts';
import { removeScratch, SCRATCH_LABEL } from './scratch-location.ts';
import { takeAttachmentManifest } from './take-attachment-manifest.ts';
import { nextSecond, startVersionedBuckets, type VersionedBuckets } from './versioned-bucket.testkit.ts';

let buckets: VersionedBuckets;
let s3: S3Client;
let t: Date;

const underScratch = async (bucket: string, prefix: string) =>
  (await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: prefix }))).Versions?.map((v) => v.Key) ?? [];
const read = async (bucket: string, key: string) =>
  (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToString('utf8');

beforeAll(async () => {
  buckets = await startVersionedBuckets();
  s3 = buckets.s3;
  await buckets.bucket('attachments');
  // The scratch bucket is versioned too: removing the scratch must delete versions, not hide them.
  await buckets.bucket('drills');
  await buckets.put('attachments', 'up/kept.pdf', 'kept');
  await buckets.put('attachments', 'up/Résumé final (1).pdf', 'unicode and spaces');
  await buckets.put('attachments', 'up/overwritten.pdf', 'old content');
  await nextSecond();
  t = new Date();
  await nextSecond();
  await buckets.put('attachments', 'up/overwritten.pdf', 'NEW CONTENT, longer');
  await buckets.put('attachments', 'up/new-after.pdf', 'new');
}, 60_000);
afterAll(() => buckets?.stop());

describe('restore into a scratch place in S3', () => {
  test('a scratch prefix holds exactly the view at T (read back from the scratch), is labelled and tagged, and is removed with every version', async () => {
    const runId = newRunId();
    const source = s3VersionedSource({
      bucket: 'attachments',
      prefix: 'up/',
      at: t,
      client: s3,
      scratch: { bucket: 'drills', prefix: 'scratch/' },
    });
    const manifest = await takeAttachmentManifest(source, t);
    const root = `scratch/restore-drill-${runId}/`;
    {
      await using restore = await restoreAttachments(source, { manifest, runId, drillName: 'scratch drill' });
      expect(restore.restored.location).toBe(`s3://drills/${root}`);
      expect(restore.restored.directory).toBeUndefined();
      expect(restore.checks.map((c) => [c.status, c.actual])).toEqual([
        ['passed', '3 restored'],
        ['passed', expect.any(String)],
      ]);
      expect((await underScratch('drills', root)).sort()).toEqual(
        [
          `${root}${SCRATCH_LABEL}`,
          `${root}up/Résumé final (1).pdf`,
          `${root}up/kept.pdf`,
          `${root}up/overwritten.pdf`,
        ].sort(),
      );
      expect(await read('drills', `${root}up/overwritten.pdf`)).toBe('old content');
      expect(await read('drills', `${root}up/Résumé final (1).pdf`)).toBe('unicode and spaces');
      expect(JSON.parse(await read('drills', `${root}${SCRATCH_LABEL}`))).toMatchObject({
        tool: 'restore-drill',
        kind: 'attachments-scratch',
        runId,
        drillName: 'scratch drill',
      });
      const tags = await s3.send(new GetObjectTaggingCommand({ Bucket: 'drills', Key: `${root}up/kept.pdf` }));
      expect(tags.TagSet).toEqual(
        expect.arrayContaining([
          { Key: 'restore-drill:owner', Value: 'restore-drill' },
          { Key: 'restore-drill:run-id', Value: runId },
        ]),
      );
    }
    expect(await underScratch('drills', root)).toEqual([]);
    const markers = await s3.send(new ListObjectVersionsCommand({ Bucket: 'drills', Prefix: root }));
    expect(markers.DeleteMarkers ?? []).toEqual([]);
  });

  test('without a bucket, the drill makes a tagged bucket restore-drill-<run id> and deletes it', async () => {
    const runId = newRunId();
    const source = s3VersionedSource({ bucket: 'attachments', prefix: 'up/', at: t, client: s3, scratch: {} });
    const restore = await restoreAttachments(source, { manifest: null, runId });
    const bucket = `restore-drill-${runId}`;
    expect(restore.restored.location).toBe(`s3://${bucket}/`);
    // No manifest: the comparison fails (and says how to record one), the restore itself passed.
    expect(restore.checks.map((c) => c.status)).toEqual(['passed', 'failed']);
    const tagging = await s3.send(new GetBucketTaggingCommand({ Bucket: bucket }));
    expect(tagging.TagSet).toEqual(expect.arrayContaining([{ Key: 'restore-drill:run-id', Value: runId }]));
    expect(await read(bucket, 'up/kept.pdf')).toBe('kept');
    await restore.remove();
    await expect(s3.send(new HeadBucketCommand({ Bucket: bucket }))).rejects.toMatchObject({ name: 'NotFound' });
  });

  test('a scratch a crashed run left is found once expired and removed; look-alikes and other runs are left alone', async () => {
    const runId = newRunId();
    const source = s3VersionedSource({
      bucket: 'attachments',
      prefix: 'up/',
      at: t,
      client: s3,
      scratch: { bucket: 'drills', prefix: 'crashed/', expiresAfter: '1h' },
    });
    // "Crashed": restored, never removed.
    await restoreAttachments(source, { manifest: null, runId });
    await s3.send(new PutObjectCommand({ Bucket: 'drills', Key: 'crashed/restore-drill-lookalike/x.txt', Body: 'x' }));
    const under = [{ bucket: 'drills', prefix: 'crashed/' }];
    expect(await findScratchLeftovers(s3, { under })).toEqual([]);
    const later = new Date(Date.now() + 2 * 3600_000);
    const root = `crashed/restore-drill-${runId}/`;
    expect(await findScratchLeftovers(s3, { under, now: later })).toEqual([
      expect.objectContaining({ bucket: 'drills', root, runId, reason: expect.stringMatching(/^expired at /) }),
    ]);
    await expect(removeScratch(s3, { bucket: 'drills', root, runId: 'rd-another-run' })).rejects.toThrow(
      /does not carry the label of run rd-another-run \(run rd.*\): left alone$/,
    );
    const lines: string[] = [];
    const result = await cleanupScratch(s3, { under, now: later, log: (line) => lines.push(line) });
    expect(result.removed.map((r) => r.root)).toEqual([root]);
    expect(lines).toEqual([
      expect.stringMatching(new RegExp(`^removed attachment scratch s3://drills/${root} \\(run ${runId}`)),
    ]);
    expect(await underScratch('drills', 'crashed/')).toEqual(['crashed/restore-drill-lookalike/x.txt']);
  });

  test('a scratch prefix without its bucket is refused before anything starts', () => {
    expect(() => s3VersionedSource({ bucket: 'attachments', at: t, scratch: { prefix: 'scratch/' } })).toThrow(
      ConfigError,
    );
  });
});
