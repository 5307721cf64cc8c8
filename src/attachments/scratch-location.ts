import type { ListObjectVersionsCommandOutput, S3Client } from '@aws-sdk/client-s3';
import { s3Sdk } from '../aws/sdk.ts';
import { readRdsLabel } from '../environments/rds/rds-tags.ts';
import { s3Uri } from '../sources/s3/s3-uri.ts';

/** The object at the top of a scratch prefix that says whose it is (the bucket of a scratch bucket carries tags). */
export const SCRATCH_LABEL = 'restore-drill.json';

/** A disposable S3 place attachments were restored into: a whole bucket the drill made, or a prefix of one. */
export interface ScratchLocation {
  readonly bucket: string;
  /** `restore-drill-<run id>/` under the configured prefix; `''` for a whole scratch bucket. */
  readonly root: string;
  /** The run that made it: removal re-reads the label and touches nothing of another run. */
  readonly runId: string;
}

/** What a scratch prefix's label object holds. */
export interface ScratchLabel {
  readonly tool: 'restore-drill';
  readonly kind: 'attachments-scratch';
  readonly runId: string;
  readonly drillName: string;
  readonly createdAt: string;
  /** After this time `restore-drill cleanup --s3-scratch` removes the scratch. */
  readonly expiresAt: string;
}

/** `s3://bucket/root`, for logs and reports. */
export function scratchUri(location: ScratchLocation): string {
  return s3Uri(location.bucket, location.root);
}

/**
 * The label of a scratch place, or null when it carries none of ours: a scratch bucket's tags
 * (`restore-drill:owner=restore-drill`, like RDS instances), a scratch prefix's {@link SCRATCH_LABEL} object.
 *
 * @example
 * (await readScratchLabel(client, { bucket: 'drills', root: 'scratch/restore-drill-rd…/', runId }))?.expiresAt;
 */
export async function readScratchLabel(
  client: S3Client,
  location: Pick<ScratchLocation, 'bucket' | 'root'>,
): Promise<Omit<ScratchLabel, 'tool' | 'kind'> | null> {
  const { GetBucketTaggingCommand, GetObjectCommand } = await s3Sdk();
  if (location.root === '') {
    const tagging = await client
      .send(new GetBucketTaggingCommand({ Bucket: location.bucket }))
      .catch((error: Error) => (error.name === 'NoSuchTagSet' ? { TagSet: [] } : Promise.reject(error)));
    const label = readRdsLabel(tagging.TagSet);
    return label && { ...label, createdAt: label.createdAt ?? '', expiresAt: label.expiresAt ?? '' };
  }
  try {
    const response = await client.send(
      new GetObjectCommand({ Bucket: location.bucket, Key: `${location.root}${SCRATCH_LABEL}` }),
    );
    const label = JSON.parse(await response.Body!.transformToString('utf8')) as Partial<ScratchLabel>;
    if (label.tool !== 'restore-drill' || label.kind !== 'attachments-scratch' || typeof label.runId !== 'string')
      return null;
    return {
      runId: label.runId,
      drillName: String(label.drillName ?? ''),
      createdAt: String(label.createdAt ?? ''),
      expiresAt: String(label.expiresAt ?? ''),
    };
  } catch (error) {
    if ((error as Error).name === 'NoSuchKey' || error instanceof SyntaxError) return null;
    throw error;
  }
}

/**
 * Deletes a scratch place — every version and delete marker under its root, then the bucket when the drill
 * made it — after re-reading its label: a place that does not carry restore-drill's label with the same run
 * id is left alone (and this throws saying so). Deleting what is already gone succeeds.
 *
 * @example
 * await removeScratch(client, location);
 */
export async function removeScratch(client: S3Client, location: ScratchLocation): Promise<void> {
  const { DeleteBucketCommand } = await s3Sdk();
  const label = await readScratchLabel(client, location).catch((error: Error) =>
    error.name === 'NoSuchBucket' ? 'gone' : Promise.reject(error),
  );
  if (label === 'gone') return;
  if (label?.runId !== location.runId)
    throw new Error(
      `${scratchUri(location)} does not carry the label of run ${location.runId} (${label ? `run ${label.runId}` : 'no restore-drill label'}): left alone`,
    );
  // Versions too: in a versioned bucket a plain delete would only hide the restored production data. The
  // label goes last, so a removal cut short leaves a place that cleanup still recognises.
  const labelKey = `${location.root}${SCRATCH_LABEL}`;
  const labels: { Key: string; VersionId?: string }[] = [];
  for await (const page of versionPages(client, location)) {
    const entries = [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])].map((v) => ({
      Key: v.Key!,
      VersionId: v.VersionId,
    }));
    labels.push(...entries.filter((e) => e.Key === labelKey));
    await deleteEntries(
      client,
      location,
      entries.filter((e) => e.Key !== labelKey),
    );
  }
  await deleteEntries(client, location, labels);
  if (location.root === '') await client.send(new DeleteBucketCommand({ Bucket: location.bucket }));
}

async function deleteEntries(
  client: S3Client,
  location: ScratchLocation,
  entries: readonly { Key: string; VersionId?: string }[],
): Promise<void> {
  const { DeleteObjectsCommand } = await s3Sdk();
  for (let i = 0; i < entries.length; i += 1000) {
    const out = await client.send(
      new DeleteObjectsCommand({
        Bucket: location.bucket,
        Delete: { Objects: entries.slice(i, i + 1000), Quiet: true },
      }),
    );
    const first = out.Errors?.[0];
    if (first)
      throw new Error(
        `could not delete ${out.Errors!.length} objects of ${scratchUri(location)}, e.g. ${JSON.stringify(first.Key)}: ${first.Code} ${first.Message}`,
      );
  }
}

/** ListObjectVersions pages under the root (the SDK has no paginator for it: the markers are followed by hand). */
async function* versionPages(
  client: S3Client,
  location: ScratchLocation,
): AsyncGenerator<ListObjectVersionsCommandOutput> {
  let KeyMarker: string | undefined;
  let VersionIdMarker: string | undefined;
  do {
    const { ListObjectVersionsCommand } = await s3Sdk();
    const page = await client.send(
      new ListObjectVersionsCommand({ Bucket: location.bucket, Prefix: location.root, KeyMarker, VersionIdMarker }),
    );
    yield page;
    KeyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
    VersionIdMarker = page.NextVersionIdMarker;
  } while (KeyMarker !== undefined);
}
