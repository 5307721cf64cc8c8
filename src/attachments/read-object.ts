import { createHash } from 'node:crypto';
import { Readable, Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { s3Sdk } from '../aws/sdk.ts';
import type { AttachmentS3 } from './attachment-s3.ts';
import type { AttachmentObject } from './attachment-view.ts';

/** What reading one object version yielded: the SHA-256 of the bytes received and how many there were. */
export interface ObjectContent {
  /** Lowercase hex. */
  readonly sha256: string;
  readonly bytes: number;
}

/**
 * Streams one object version from S3 into `sink` (default: nowhere), hashing on the way: the object is never
 * held in memory, whatever its size. With `ChecksumMode: ENABLED` the SDK also checks the bytes against a
 * full-object checksum S3 stored with them.
 *
 * @example
 * const { sha256, bytes } = await readObject(s3, object, createWriteStream(path));
 */
export async function readObject(
  s3: AttachmentS3,
  object: AttachmentObject,
  sink?: Writable,
  signal?: AbortSignal,
): Promise<ObjectContent> {
  const hash = createHash('sha256');
  let bytes = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      bytes += chunk.length;
      done(null, chunk);
    },
  });
  await s3.call(object.key, async (client) => {
    const { GetObjectCommand } = await s3Sdk();
    const response = await client.send(
      new GetObjectCommand({
        Bucket: s3.bucket,
        Key: object.key,
        // A copy in an unversioned scratch bucket has no version id: its only version is read.
        VersionId: object.versionId || undefined,
        ChecksumMode: 'ENABLED',
      }),
      { abortSignal: signal },
    );
    const body = response.Body as Readable;
    const discard = new Writable({ write: (_chunk, _encoding, done) => done() });
    await pipeline(body, tap, sink ?? discard, { signal });
  });
  return { sha256: hash.digest('hex'), bytes };
}
