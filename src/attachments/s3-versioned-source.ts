// Attachments beside a database: a versioned S3 bucket (prefix) viewed at a point in time, restored into a
// disposable directory and compared with the attachment manifest production recorded. attachment-view.ts
// works out which version was current; list-versions.ts pages through the history; restore-to-directory.ts
// streams the objects; attachment-manifest.ts and compare-attachments.ts are the sums and their comparison.

import type { S3Client } from '@aws-sdk/client-s3';
import type { S3ClientOptions } from '../aws/s3-client.ts';
import { ConfigError } from '../errors.ts';
import { parseS3Uri, s3Uri } from '../sources/s3/s3-uri.ts';
import { attachmentS3, type AttachmentS3 } from './attachment-s3.ts';
import type { AttachmentView } from './attachment-view.ts';
import { listViewsAt, type ListViewsOptions } from './list-versions.ts';
import { checkScratchOptions, type ScratchOptions } from './restore-to-scratch.ts';

/** Options of {@link s3VersionedSource}. */
export interface S3VersionedSourceOptions extends S3ClientOptions {
  readonly bucket: string;
  /** Only keys under this prefix, e.g. `attachments/`; default the whole bucket. */
  readonly prefix?: string;
  /**
   * The point in time to bring the bucket back to: a time, or `'recovery-point'` for the time of the database's
   * recovery point the drill restored (its marker's or manifest's time when it has one).
   */
  readonly at: Date | 'recovery-point';
  /** Parallel S3 requests while restoring and hashing; default 8. */
  readonly concurrency?: number;
  /** A ready-made client; default the standard AWS configuration. */
  readonly client?: S3Client;
  /**
   * Restore into a scratch place in S3 (a prefix of an existing bucket, or a new bucket) that the drill labels
   * and removes, instead of a disposable local directory; see {@link ScratchOptions}.
   */
  readonly scratch?: ScratchOptions;
}

/** A versioned bucket prefix that can be viewed and restored as it was at a point in time. */
export interface AttachmentSource {
  readonly kind: 's3-versioned';
  readonly bucket: string;
  readonly prefix: string;
  readonly concurrency: number;
  /** Where the view is restored in S3; absent: a disposable local directory. */
  readonly scratch?: ScratchOptions;
  /** `s3-versioned s3://bucket/prefix/ at …`, for logs and reports. */
  describe(): string;
  /** The time to restore to: `at`, or `recoveryPointAt` when `at` is `'recovery-point'`. */
  timeFor(recoveryPointAt?: Date): Date;
  /** The views at each time, from one pass over the version history (paginated; progress through `log`). */
  views(times: readonly Date[], options?: ListViewsOptions): Promise<AttachmentView[]>;
  /** The S3 access used by restore and hashing. */
  readonly s3: AttachmentS3;
}

/**
 * Attachments in a versioned S3 bucket, brought back to a point in time: for every key, the version current
 * then (a key deleted before is absent, a key overwritten after is its older version), from ListObjectVersions.
 * Give the bucket as options or as `s3://bucket/prefix/` plus `at`.
 *
 * @example
 * const attachments = s3VersionedSource({ bucket: 'acme-attachments', prefix: 'uploads/', at: 'recovery-point' });
 * // Restored into s3://acme-drills/scratch/restore-drill-<run id>/ rather than a local directory:
 * s3VersionedSource({ bucket: 'acme-attachments', at: 'recovery-point', scratch: { bucket: 'acme-drills', prefix: 'scratch/' } });
 */
export function s3VersionedSource(options: S3VersionedSourceOptions): AttachmentSource {
  const { bucket } = options;
  if (!bucket)
    throw new ConfigError('s3VersionedSource needs a bucket', "give { bucket: 'name', prefix?: 'folder/', at }");
  const at = options.at;
  if (at !== 'recovery-point' && !(at instanceof Date && !Number.isNaN(at.getTime()))) {
    throw new ConfigError(
      `s3VersionedSource: at must be a Date or 'recovery-point', not ${String(at)}`,
      "e.g. at: new Date('2026-11-24T00:00:00Z') or at: 'recovery-point'",
    );
  }
  const prefix = options.prefix ?? '';
  if (options.scratch) checkScratchOptions(options.scratch);
  const s3 = attachmentS3(bucket, options);
  return {
    kind: 's3-versioned',
    bucket,
    prefix,
    concurrency: options.concurrency ?? 8,
    ...(options.scratch ? { scratch: options.scratch } : {}),
    s3,
    describe: () =>
      `s3-versioned ${s3Uri(bucket, prefix)} at ${at === 'recovery-point' ? 'the recovery point' : at.toISOString()}`,
    timeFor(recoveryPointAt) {
      if (at instanceof Date) return at;
      if (!recoveryPointAt)
        throw new ConfigError(
          `${s3Uri(bucket, prefix)}: at is 'recovery-point' but no recovery point time was given`,
          'pass the restored recovery point, or a Date as at',
        );
      return recoveryPointAt;
    },
    views: (times, viewOptions) => listViewsAt(s3, prefix, times, viewOptions),
  };
}

/**
 * `s3VersionedSource` from an `s3://bucket/prefix/` URI, as the CLI takes it.
 *
 * @example
 * s3VersionedSourceFromUri('s3://acme-attachments/uploads/', new Date());
 */
export function s3VersionedSourceFromUri(
  uri: string,
  at: Date | 'recovery-point',
  options: Omit<S3VersionedSourceOptions, 'bucket' | 'prefix' | 'at'> = {},
): AttachmentSource {
  const { bucket, key } = parseS3Uri(uri);
  return s3VersionedSource({ ...options, bucket, prefix: key, at });
}
