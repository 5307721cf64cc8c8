import { s3Sdk } from '../aws/sdk.ts';
import { mapLimit } from '../util/map-limit.ts';
import type { AttachmentS3 } from './attachment-s3.ts';
import { ARCHIVED_CLASSES, type AttachmentObject } from './attachment-view.ts';
import { readObject } from './read-object.ts';

/** The content digest of one object version, and where it came from. */
export interface ObjectDigest {
  readonly key: string;
  readonly size: number;
  /** SHA-256 of the content (hex); `null` for an archived object S3 holds no SHA-256 for (it cannot be read). */
  readonly sha256: string | null;
  /** `s3`: the full-object SHA-256 S3 stored with the object; `computed`: restore-drill read the bytes; `archived`: neither. */
  readonly from: 's3' | 'computed' | 'archived';
}

/** Options of {@link objectDigests}. */
export interface ObjectDigestOptions {
  /** Parallel S3 requests; default 8. */
  readonly concurrency?: number;
  readonly signal?: AbortSignal;
}

/**
 * The SHA-256 of every object of a view: the one S3 stored (HeadObject with checksum mode), when it is a
 * full-object SHA-256; else restore-drill streams the bytes and computes it. Never an ETag (a multipart
 * ETag is a hash of part hashes, not of the content) and never a composite checksum (`…-N`) for the same reason.
 *
 * @example
 * const digests = await objectDigests(s3, view.objects, { concurrency: 8 });
 */
export async function objectDigests(
  s3: AttachmentS3,
  objects: readonly AttachmentObject[],
  options: ObjectDigestOptions = {},
): Promise<ObjectDigest[]> {
  const { signal } = options;
  return mapLimit(objects, options.concurrency ?? 8, async (object): Promise<ObjectDigest> => {
    const { HeadObjectCommand } = await s3Sdk();
    const head = await s3.call(object.key, (client) =>
      client.send(
        new HeadObjectCommand({
          Bucket: s3.bucket,
          Key: object.key,
          VersionId: object.versionId,
          ChecksumMode: 'ENABLED',
        }),
        { abortSignal: signal },
      ),
    );
    const stored = fullObjectSha256(head.ChecksumSHA256, head.ChecksumType);
    if (stored) return { key: object.key, size: object.size, sha256: stored, from: 's3' };
    if (ARCHIVED_CLASSES.has(object.storageClass ?? ''))
      return { key: object.key, size: object.size, sha256: null, from: 'archived' };
    const content = await readObject(s3, object, undefined, signal);
    return { key: object.key, size: content.bytes, sha256: content.sha256, from: 'computed' };
  });
}

/**
 * A stored SHA-256 as hex, only when it covers the whole content: composite checksums of multipart uploads
 * end in `-<parts>` (or say `COMPOSITE`) and are hashes of hashes.
 *
 * @example
 * fullObjectSha256('LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=', undefined); // '2cf24dba…'
 * fullObjectSha256('abc…=-3', 'COMPOSITE'); // undefined
 */
export function fullObjectSha256(checksum: string | undefined, type: string | undefined): string | undefined {
  if (!checksum || checksum.includes('-') || type === 'COMPOSITE') return undefined;
  const bytes = Buffer.from(checksum, 'base64');
  return bytes.length === 32 ? bytes.toString('hex') : undefined;
}
