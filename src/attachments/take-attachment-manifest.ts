import {
  ATTACHMENT_MANIFEST_FORMAT,
  ATTACHMENT_SUM_ALGORITHM,
  sumObjects,
  type AttachmentManifest,
} from './attachment-manifest.ts';
import { objectDigests } from './object-digests.ts';
import type { AttachmentSource } from './s3-versioned-source.ts';

/**
 * The attachment manifest of a bucket prefix as it was at `at` (the marker's or dump snapshot's time): the
 * view at that time, each object's content SHA-256 (S3's own full-object SHA-256, else computed by reading the
 * bytes), and the order-independent sums. Reads only; works after `at` too, since the view is rebuilt from the
 * version history.
 *
 * @example
 * const manifest = await takeAttachmentManifest(s3VersionedSource({ bucket, prefix, at: takenAt }), takenAt);
 */
export async function takeAttachmentManifest(
  source: AttachmentSource,
  at: Date,
  options: { signal?: AbortSignal; log?: (line: string) => void } = {},
): Promise<AttachmentManifest> {
  const [view] = await source.views([at], options);
  const digests = await objectDigests(source.s3, view!.objects, {
    concurrency: source.concurrency,
    signal: options.signal,
  });
  const count = (from: string) => digests.filter((d) => d.from === from).length;
  return {
    format: ATTACHMENT_MANIFEST_FORMAT,
    algorithm: ATTACHMENT_SUM_ALGORITHM,
    bucket: source.bucket,
    prefix: source.prefix,
    at: at.toISOString(),
    ...sumObjects(digests, source.prefix),
    checksums: { s3: count('s3'), computed: count('computed'), archived: count('archived') },
  };
}
