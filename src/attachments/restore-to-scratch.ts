import type { BucketLocationConstraint } from '@aws-sdk/client-s3';
import { s3Sdk } from '../aws/sdk.ts';
import { drillTags, rdsIdentifier } from '../environments/rds/rds-tags.ts';
import { ConfigError } from '../errors.ts';
import { parseDuration, type DurationString } from '../util/duration.ts';
import { attachmentS3, type AttachmentS3 } from './attachment-s3.ts';
import type { AttachmentObject, AttachmentView } from './attachment-view.ts';
import { readObject } from './read-object.ts';
import { restoreObjects } from './restore-objects.ts';
import { refuseArchived, type RestoredAttachments, type RestoreToDirectoryOptions } from './restore-to-directory.ts';
import {
  removeScratch,
  SCRATCH_LABEL,
  scratchUri,
  type ScratchLabel,
  type ScratchLocation,
} from './scratch-location.ts';

/** Where a drill restores attachments in S3 instead of a local directory: the `scratch` option of `s3VersionedSource`. */
export interface ScratchOptions {
  /**
   * An existing bucket (of the same store as the source) to restore under, in a prefix
   * `restore-drill-<run id>/` of its own; default: a new bucket `restore-drill-<run id>` that the drill makes,
   * tags and deletes.
   */
  readonly bucket?: string;
  /** Where in `bucket` the scratch prefixes go, e.g. `drills/`; default its top. */
  readonly prefix?: string;
  /** After this long, `restore-drill cleanup --s3-scratch` removes a scratch a crashed run left; default `1d`. */
  readonly expiresAfter?: DurationString;
}

/**
 * Checks `scratch` and returns it with its expiry in seconds; a ConfigError names what is wrong.
 *
 * @example
 * checkScratchOptions({ bucket: 'acme-drills', prefix: 'scratch/' });
 */
export function checkScratchOptions(
  scratch: ScratchOptions,
): ScratchOptions & { readonly expiresAfterSeconds: number } {
  if (scratch.prefix && !scratch.bucket)
    throw new ConfigError('s3VersionedSource scratch: a prefix needs its bucket', 'give scratch: { bucket, prefix }');
  if (scratch.prefix && !scratch.prefix.endsWith('/'))
    throw new ConfigError(
      `s3VersionedSource scratch prefix must end with '/', not ${JSON.stringify(scratch.prefix)}`,
      "e.g. prefix: 'scratch/'",
    );
  return { ...scratch, expiresAfterSeconds: parseDuration(scratch.expiresAfter ?? '1d', 'scratch expiresAfter') };
}

/**
 * Restores every object of `view` (each at its version) into a scratch place in S3 — a prefix
 * `restore-drill-<run id>/` of `scratch.bucket`, or a new bucket `restore-drill-<run id>` — with server-side
 * copies (nothing passes through this machine's memory), a bounded number at a time. Every copy is then read
 * back and hashed: what is compared with the manifest is what landed in the scratch, not what S3 listed. The
 * place carries restore-drill's label (the bucket's tags and every copy's tags, like RDS instances; a
 * prefix's `restore-drill.json`), so `remove()` — also after a failed drill — and `restore-drill cleanup
 * --s3-scratch` after a crash delete only it. An archived version or one above S3's 5 GiB copy limit is
 * listed as failed with why.
 *
 * @example
 * await using restored = await restoreToScratch(s3, view, { bucket: 'acme-drills', prefix: 'scratch/' }, { runId });
 * restored.location; // 's3://acme-drills/scratch/restore-drill-rd…/'
 */
export async function restoreToScratch(
  s3: AttachmentS3,
  view: AttachmentView,
  scratch: ScratchOptions,
  options: Omit<RestoreToDirectoryOptions, 'parent'>,
): Promise<RestoredAttachments> {
  const { CreateBucketCommand, PutBucketTaggingCommand, PutObjectCommand } = await s3Sdk();
  const { expiresAfterSeconds } = checkScratchOptions(scratch);
  const client = await s3.client();
  const name = rdsIdentifier(options.runId);
  const location: ScratchLocation = scratch.bucket
    ? { bucket: scratch.bucket, root: `${scratch.prefix ?? ''}${name}/`, runId: options.runId }
    : { bucket: name, root: '', runId: options.runId };
  const createdAt = new Date();
  const label: ScratchLabel = {
    tool: 'restore-drill',
    kind: 'attachments-scratch',
    runId: options.runId,
    drillName: options.drillName ?? 'attachments',
    createdAt: createdAt.toISOString(),
    expiresAt: new Date(createdAt.getTime() + expiresAfterSeconds * 1000).toISOString(),
  };
  const tags = drillTags(label);
  const tagging = tags.map((t) => `${encodeURIComponent(t.Key!)}=${encodeURIComponent(t.Value!)}`).join('&');
  const target = attachmentS3(location.bucket, { client });
  let made = false;
  const remove = async () => {
    if (made) await target.call(location.root, (c) => removeScratch(c, location));
    made = false;
  };
  try {
    if (location.root === '') {
      const region = await client.config.region();
      await target.call('', (c) =>
        c.send(
          new CreateBucketCommand({
            Bucket: location.bucket,
            ...(region === 'us-east-1'
              ? {}
              : { CreateBucketConfiguration: { LocationConstraint: region as BucketLocationConstraint } }),
          }),
        ),
      );
      made = true;
      await target.call('', (c) =>
        c.send(new PutBucketTaggingCommand({ Bucket: location.bucket, Tagging: { TagSet: tags as never } })),
      );
    } else {
      made = true;
      await target.call(`${location.root}${SCRATCH_LABEL}`, (c) =>
        c.send(
          new PutObjectCommand({
            Bucket: location.bucket,
            Key: `${location.root}${SCRATCH_LABEL}`,
            Body: JSON.stringify(label),
            ContentType: 'application/json',
            Tagging: tagging,
          }),
        ),
      );
    }
    options.log?.(`restoring ${view.objects.length} attachments into ${scratchUri(location)}`);
    const { restored, failed } = await restoreObjects(view, options, async (object) => {
      const { CopyObjectCommand } = await s3Sdk();
      refuseArchived(object);
      const key = `${location.root}${object.key}`;
      const copied = await target.call(key, (c) =>
        c.send(
          new CopyObjectCommand({
            Bucket: location.bucket,
            Key: key,
            CopySource: copySource(view.bucket, object),
            TaggingDirective: 'REPLACE',
            Tagging: tagging,
          }),
          { abortSignal: options.signal },
        ),
      );
      return readObject(target, { ...object, key, versionId: copied.VersionId ?? '' }, undefined, options.signal);
    });
    const done = remove;
    return {
      location: scratchUri(location),
      view,
      restored,
      failed,
      remove: done,
      [Symbol.asyncDispose]: done,
    };
  } catch (error) {
    await remove().catch(() => {});
    throw error;
  }
}

/** `bucket/key?versionId=…`, URL-encoded as CopyObject wants it (each key segment; the slashes kept). */
function copySource(bucket: string, object: AttachmentObject): string {
  const key = object.key.split('/').map(encodeURIComponent).join('/');
  return `${bucket}/${key}?versionId=${encodeURIComponent(object.versionId)}`;
}
