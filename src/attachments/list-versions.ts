import { s3Sdk } from '../aws/sdk.ts';
import { ConfigError } from '../errors.ts';
import { s3Uri } from '../sources/s3/s3-uri.ts';
import type { AttachmentS3 } from './attachment-s3.ts';
import { resolveVersionsAt, type AttachmentView, type VersionEntry } from './attachment-view.ts';

/** Options of {@link listViewsAt}. */
export interface ListViewsOptions {
  readonly signal?: AbortSignal;
  /** Progress lines while paging through a long version history. */
  readonly log?: (line: string) => void;
  /** Versions per ListObjectVersions page; default S3's (1,000). */
  readonly pageSize?: number;
}

/** A progress line every this many pages (of 1,000 versions): a prefix with millions of versions shows it is moving. */
const PROGRESS_EVERY_PAGES = 10;

/**
 * The views of `prefix` at each of `times`, from ONE paginated ListObjectVersions pass (versions and delete
 * markers). Fails with a ConfigError when versioning was never enabled: such a bucket cannot go back in time.
 *
 * @example
 * const [atMarker, atRecoveryPoint] = await listViewsAt(s3, 'invoices/', [markerTime, recoveryPointTime]);
 */
export async function listViewsAt(
  s3: AttachmentS3,
  prefix: string,
  times: readonly Date[],
  options: ListViewsOptions = {},
): Promise<AttachmentView[]> {
  const { bucket } = s3;
  const { signal, log } = options;
  const versioning = await assertVersioned(s3, signal);
  const resolvers = times.map((at) => resolveVersionsAt(at));
  let listed = 0;
  let pages = 0;
  await s3.call(prefix, async (client) => {
    // The SDK has no paginator for ListObjectVersions: follow the key and version-id markers by hand.
    let keyMarker: string | undefined;
    let versionIdMarker: string | undefined;
    do {
      const { ListObjectVersionsCommand } = await s3Sdk();
      signal?.throwIfAborted();
      const page = await client.send(
        new ListObjectVersionsCommand({
          Bucket: bucket,
          Prefix: prefix,
          KeyMarker: keyMarker,
          VersionIdMarker: versionIdMarker,
          MaxKeys: options.pageSize,
        }),
        { abortSignal: signal },
      );
      const entries: VersionEntry[] = [];
      for (const v of page.Versions ?? []) {
        entries.push({
          key: v.Key!,
          versionId: v.VersionId ?? 'null',
          lastModified: v.LastModified!,
          isLatest: v.IsLatest === true,
          size: v.Size ?? 0,
          ...(v.StorageClass ? { storageClass: v.StorageClass } : {}),
        });
      }
      for (const m of page.DeleteMarkers ?? []) {
        entries.push({
          key: m.Key!,
          versionId: m.VersionId ?? 'null',
          lastModified: m.LastModified!,
          isLatest: m.IsLatest === true,
        });
      }
      listed += entries.length;
      for (const resolver of resolvers) resolver.add(entries);
      if (++pages % PROGRESS_EVERY_PAGES === 0)
        log?.(`listed ${listed} versions and delete markers of ${s3Uri(bucket, prefix)} …`);
      if (!page.IsTruncated) break;
      if (!page.NextKeyMarker)
        throw new Error(`S3 returned a truncated version listing of ${s3Uri(bucket, prefix)} without a next marker`);
      keyMarker = page.NextKeyMarker;
      versionIdMarker = page.NextVersionIdMarker;
    } while (keyMarker !== undefined);
  });
  return resolvers.map((resolver, i) => ({
    bucket,
    prefix,
    at: times[i]!,
    objects: resolver.objects(),
    versionsListed: listed,
    sameSecond: resolver.sameSecond(),
    versioning: versioning,
  }));
}

/**
 * The bucket's versioning status (`Enabled` or `Suspended`); a ConfigError when versioning was never enabled,
 * since such a bucket cannot be brought back to a point in time. Cheap: `mark --s3` calls it before writing.
 *
 * @example
 * await assertVersioned(s3); // 'Enabled'
 */
export async function assertVersioned(s3: AttachmentS3, signal?: AbortSignal): Promise<string> {
  const { GetBucketVersioningCommand } = await s3Sdk();
  const { bucket } = s3;
  const versioning = (
    await s3.call('', (c) => c.send(new GetBucketVersioningCommand({ Bucket: bucket }), { abortSignal: signal }))
  ).Status;
  if (versioning !== 'Enabled' && versioning !== 'Suspended') {
    throw new ConfigError(
      `S3 bucket ${bucket} has no versioning: its objects cannot be brought back to a point in time`,
      'enable versioning on the bucket (aws s3api put-bucket-versioning --versioning-configuration Status=Enabled); only history from then on can be restored',
    );
  }
  return versioning;
}
