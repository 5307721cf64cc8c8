import type { S3Client } from '@aws-sdk/client-s3';
import { s3Sdk } from '../../aws/sdk.ts';
import type { CheckResult } from '../../model/report.ts';
import { createS3Client, customEndpoint, type S3ClientOptions } from '../../aws/s3-client.ts';
import { explainS3Error } from '../../aws/s3-errors.ts';
import { parseS3Uri, s3Uri } from '../../sources/s3/s3-uri.ts';
import { mapLimit } from '../../util/map-limit.ts';
import type { Policy } from '../policy.ts';

/** Options of {@link s3VersioningPolicy}. */
export interface S3VersioningPolicyOptions extends S3ClientOptions {
  readonly bucket: string;
  /** Also check that every object under `prefix` (default: the whole bucket) is server-side encrypted. */
  readonly everyObjectEncrypted?: boolean;
  readonly prefix?: string;
  /** Require this SSE algorithm, e.g. `aws:kms`; default any (`AES256`, `aws:kms`, `aws:kms:dsse`). */
  readonly algorithm?: string;
  /** A ready-made client; default {@link createS3Client} (standard AWS configuration). */
  readonly client?: S3Client;
}

/** Parallel HeadObject requests: hides latency without flooding the bucket. */
const CONCURRENCY = 8;

/**
 * S3: a bucket that backups (or attachments) rely on has versioning enabled (GetBucketVersioning), so an
 * overwrite or delete can be undone; optionally every object under a prefix is server-side encrypted
 * (HeadObject each). Accepts `s3://bucket/prefix/`. Usable in any drill, independent of its source.
 *
 * @example
 * s3VersioningPolicy({ bucket: 'acme-attachments', everyObjectEncrypted: true });
 */
export function s3VersioningPolicy(uriOrOptions: string | S3VersioningPolicyOptions): Policy {
  const options: S3VersioningPolicyOptions =
    typeof uriOrOptions === 'string'
      ? (({ bucket, key }) => ({ bucket, prefix: key, everyObjectEncrypted: false }))(parseS3Uri(uriOrOptions))
      : uriOrOptions;
  const { bucket } = options;
  const prefix = options.prefix ?? '';
  let client: Promise<S3Client> | undefined;
  const s3 = () => (client ??= options.client ? Promise.resolve(options.client) : createS3Client(options));
  const call = async <T>(uri: string, work: (client: S3Client) => Promise<T>): Promise<T> => {
    try {
      return await work(await s3());
    } catch (error) {
      throw explainS3Error(error, { uri, bucket, endpoint: options.client ? undefined : customEndpoint(options) });
    }
  };
  return {
    name: 's3 versioning',
    async evaluate({ sourceContext }): Promise<CheckResult[]> {
      const { GetBucketVersioningCommand } = await s3Sdk();
      const bucketUri = s3Uri(bucket, '');
      const versioning = await call(bucketUri, (c) =>
        c.send(new GetBucketVersioningCommand({ Bucket: bucket }), { abortSignal: sourceContext.signal }),
      );
      const checks: CheckResult[] = [
        {
          name: `policy s3 versioning ${bucketUri}`,
          status: versioning.Status === 'Enabled' ? 'passed' : 'failed',
          expected: 'Enabled',
          actual: versioning.Status ?? 'never enabled',
          ...(versioning.MFADelete ? { detail: `MFA delete: ${versioning.MFADelete}` } : {}),
        },
      ];
      if (options.everyObjectEncrypted)
        checks.push(await encryptionCheck(call, bucket, prefix, options.algorithm, sourceContext.signal));
      return checks;
    },
  };
}

async function encryptionCheck(
  call: <T>(uri: string, work: (client: S3Client) => Promise<T>) => Promise<T>,
  bucket: string,
  prefix: string,
  algorithm: string | undefined,
  signal?: AbortSignal,
): Promise<CheckResult> {
  const where = s3Uri(bucket, prefix);
  const keys = await call(where, async (client) => {
    const { paginateListObjectsV2 } = await s3Sdk();
    const found: string[] = [];
    for await (const page of paginateListObjectsV2(
      { client },
      { Bucket: bucket, Prefix: prefix },
      { abortSignal: signal },
    )) {
      signal?.throwIfAborted();
      found.push(...(page.Contents ?? []).map((o) => o.Key!).filter((k) => k && !k.endsWith('/')));
    }
    return found;
  });
  const { HeadObjectCommand } = await s3Sdk();
  const algorithms = await mapLimit(keys, CONCURRENCY, (key) =>
    call(
      s3Uri(bucket, key),
      async (client) =>
        (await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: signal }))
          .ServerSideEncryption as string | undefined,
    ),
  );
  const bad = keys.filter((_, i) => !algorithms[i] || (algorithm !== undefined && algorithms[i] !== algorithm));
  const shown =
    bad
      .slice(0, 3)
      .map((k) => s3Uri(bucket, k))
      .join(', ') + (bad.length > 3 ? ` and ${bad.length - 3} more` : '');
  return {
    name: `policy s3 encryption ${where}`,
    status: keys.length > 0 && bad.length === 0 ? 'passed' : 'failed',
    expected: `every object server-side encrypted${algorithm ? ` with ${algorithm}` : ''}`,
    actual: keys.length ? `${keys.length - bad.length} of ${keys.length}` : 'no objects',
    ...(bad.length ? { detail: `not encrypted${algorithm ? ` with ${algorithm}` : ''}: ${shown}` } : {}),
  };
}
