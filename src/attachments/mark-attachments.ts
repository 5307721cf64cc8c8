import type { S3Client } from '@aws-sdk/client-s3';
import { s3Sdk } from '../aws/sdk.ts';
import { writeFile } from 'node:fs/promises';
import { createS3Client } from '../aws/s3-client.ts';
import { ConfigError } from '../errors.ts';
import { explainS3Error } from '../aws/s3-errors.ts';
import { parseS3Uri, s3Uri } from '../sources/s3/s3-uri.ts';
import type { AttachmentManifest } from './attachment-manifest.ts';
import { assertVersioned } from './list-versions.ts';
import { attachmentManifestPathFor, writeAttachmentManifest } from './manifest-store.ts';
import { s3VersionedSourceFromUri } from './s3-versioned-source.ts';
import { takeAttachmentManifest } from './take-attachment-manifest.ts';

/**
 * Checks, before production is touched, that every `--s3` bucket is reachable and versioned: a bad bucket must
 * not leave a marker without its attachment manifest behind.
 *
 * @example
 * await preflightAttachments(['s3://acme-attachments/uploads/']);
 */
export async function preflightAttachments(uris: readonly string[], signal?: AbortSignal): Promise<void> {
  for (const uri of uris) {
    if (!/^s3:\/\/[^/]+/.test(uri))
      throw new ConfigError(
        `--s3 ${uri} is not an s3:// URI`,
        'write --s3 s3://BUCKET/PREFIX/ of the versioned bucket that holds the attachments',
      );
    await assertVersioned(s3VersionedSourceFromUri(uri, new Date()).s3, signal);
  }
}

/**
 * The attachment manifest of each `--s3` prefix at `takenAt` (the marker's or dump snapshot's time).
 *
 * @example
 * const manifests = await takeAttachmentManifests(['s3://acme-attachments/uploads/'], new Date(marker.takenAt));
 */
export async function takeAttachmentManifests(
  uris: readonly string[],
  takenAt: Date,
  options: { signal?: AbortSignal; log?: (line: string) => void; client?: S3Client } = {},
): Promise<AttachmentManifest[]> {
  const manifests: AttachmentManifest[] = [];
  for (const uri of uris) {
    const source = s3VersionedSourceFromUri(uri, takenAt, options.client ? { client: options.client } : {});
    manifests.push(await takeAttachmentManifest(source, takenAt, options));
  }
  return manifests;
}

/**
 * `mark --s3`: stores each manifest in `restore_drill.attachment_manifests`, linked to the marker.
 *
 * @example
 * await recordAttachmentManifests(url, marker.id, manifests);
 */
export async function recordAttachmentManifests(
  url: string,
  markerId: string,
  manifests: readonly AttachmentManifest[],
  role?: string,
): Promise<void> {
  for (const manifest of manifests) await writeAttachmentManifest(url, markerId, manifest, { role });
}

/**
 * `dump --s3`: writes the manifests beside the dump, as `<dump>.attachments.json` (one JSON array), locally or
 * in S3 next to the uploaded dump.
 *
 * @example
 * await writeAttachmentManifestsBeside('s3://acme-backups/shop/dump-20261124T000000Z.dump', manifests);
 */
export async function writeAttachmentManifestsBeside(
  dump: string,
  manifests: readonly AttachmentManifest[],
): Promise<string> {
  const { PutObjectCommand } = await s3Sdk();
  const target = attachmentManifestPathFor(dump);
  const text = `${JSON.stringify(manifests, null, 2)}\n`;
  if (!target.startsWith('s3://')) {
    await writeFile(target, text, { mode: 0o644 });
    return target;
  }
  const { bucket, key } = parseS3Uri(target);
  try {
    await (
      await createS3Client()
    ).send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: text,
        ContentType: 'application/json',
        ChecksumAlgorithm: 'SHA256',
      }),
    );
  } catch (error) {
    throw explainS3Error(error, { uri: s3Uri(bucket, key), bucket });
  }
  return target;
}

/**
 * One line per manifest for the command's output.
 *
 * @example
 * describeAttachmentManifest(manifest); // 'attachments s3://b/p/ at …: 12 objects, 3400 bytes (12 SHA-256 from S3, 0 computed)'
 */
export function describeAttachmentManifest(m: AttachmentManifest): string {
  const archived = m.checksums.archived ? `, ${m.checksums.archived} archived (not hashed)` : '';
  return `attachments ${s3Uri(m.bucket, m.prefix)} at ${m.at}: ${m.objects} objects, ${m.bytes} bytes (${m.checksums.s3} SHA-256 from S3, ${m.checksums.computed} computed${archived})`;
}
