import type { CheckResult } from '../model/report.ts';
import { s3Uri } from '../sources/s3/s3-uri.ts';
import { mapLimit } from '../util/map-limit.ts';
import { sumObjects, type AttachmentManifest, type SummedObject } from './attachment-manifest.ts';
import type { AttachmentView } from './attachment-view.ts';
import { compareWithManifest } from './compare-attachments.ts';
import { readObject } from './read-object.ts';
import { restoreToDirectory, type RestoredAttachments } from './restore-to-directory.ts';
import { restoreToScratch } from './restore-to-scratch.ts';
import type { AttachmentSource } from './s3-versioned-source.ts';

/** Options of {@link restoreAttachments}. */
export interface RestoreAttachmentsOptions {
  /** The restored recovery point's time; needed when the source's `at` is `'recovery-point'`. */
  readonly recoveryPointAt?: Date;
  /** The attachment manifest found with the recovery point (in the restored database or beside the dump); `null`: none. */
  readonly manifest: AttachmentManifest | null;
  readonly runId: string;
  readonly drillName?: string;
  /** Where the disposable directory is made; default the system temp directory. */
  readonly parent?: string;
  readonly signal?: AbortSignal;
  readonly log?: (line: string) => void;
}

/** The restored attachments and the checks comparing them with production; `remove()` deletes the directory or scratch. */
export interface AttachmentRestore extends AsyncDisposable {
  readonly restored: RestoredAttachments;
  readonly checks: CheckResult[];
  readonly remove: () => Promise<void>;
}

/**
 * Restores the source's bucket prefix to the recovery point's time into a disposable directory (or the
 * source's scratch place in S3), and compares
 * it with the attachment manifest. The manifest describes the bucket at its own time (usually the marker's,
 * a little before the recovery point): the comparison uses the view at that time, from the same listing, and
 * hashes the bytes of every object in it (those restored are hashed as they were written; the few that
 * changed in between are read again, never trusted from S3's metadata). Without a manifest the check fails
 * and says how to record one: a restore that was compared with nothing does not pass.
 *
 * @example
 * await using attachments = await restoreAttachments(source, { recoveryPointAt, manifest, runId });
 * attachments.checks; // [{ name: 'attachments s3://b/p/ at …', status: 'passed', … }]
 */
export async function restoreAttachments(
  source: AttachmentSource,
  options: RestoreAttachmentsOptions,
): Promise<AttachmentRestore> {
  const { manifest, signal, log } = options;
  const at = source.timeFor(options.recoveryPointAt);
  const times = manifest && manifest.at !== at.toISOString() ? [at, new Date(manifest.at)] : [at];
  const views = await source.views(times, { signal, log });
  const into = { runId: options.runId, drillName: options.drillName, concurrency: source.concurrency, signal, log };
  const restored = source.scratch
    ? await restoreToScratch(source.s3, views[0]!, source.scratch, into)
    : await restoreToDirectory(source.s3, views[0]!, { ...into, parent: options.parent });
  try {
    const { failed, view } = restored;
    const notes = [
      failed.length
        ? `not restored: ${failed
            .slice(0, 5)
            .map((f) => `${JSON.stringify(f.key)} (${f.reason})`)
            .join(', ')}${failed.length > 5 ? ` and ${failed.length - 5} more` : ''}`
        : undefined,
      // Overwrites while versioning was suspended replaced the null version: what was there before is gone.
      view.versioning === 'Suspended'
        ? 'versioning of the bucket is Suspended: overwrites since then cannot be undone, so this view may not be the one at that time'
        : undefined,
      view.objects.length === 0 ? 'no object under the prefix at that time: only that absence was checked' : undefined,
    ].filter((note): note is string => note !== undefined);
    const restoredCheck: CheckResult = {
      name: `attachments restored ${s3Uri(source.bucket, source.prefix)} at ${at.toISOString()}`,
      status: failed.length === 0 && view.versioning === 'Enabled' ? 'passed' : 'failed',
      expected: `${view.objects.length} objects`,
      actual: `${view.objects.length - failed.length} restored`,
      ...(notes.length ? { detail: notes.join('; ') } : {}),
    };
    const checks = [
      restoredCheck,
      manifest
        ? await compareAtManifestTime(source, manifest, views[1] ?? views[0]!, restored, signal)
        : noManifestCheck(source),
    ];
    return { restored, checks, remove: restored.remove, [Symbol.asyncDispose]: restored.remove };
  } catch (error) {
    await restored.remove();
    throw error;
  }
}

async function compareAtManifestTime(
  source: AttachmentSource,
  manifest: AttachmentManifest,
  view: AttachmentView,
  restored: RestoredAttachments,
  signal?: AbortSignal,
): Promise<CheckResult> {
  if (manifest.bucket !== source.bucket || manifest.prefix !== source.prefix) {
    return {
      name: `attachments ${s3Uri(source.bucket, source.prefix)}`,
      status: 'failed',
      expected: `a manifest of ${s3Uri(source.bucket, source.prefix)}`,
      actual: `a manifest of ${s3Uri(manifest.bucket, manifest.prefix)}`,
      detail:
        'the newest attachment manifest describes another bucket or prefix: mark this one with `restore-drill mark --s3`',
    };
  }
  const byVersion = new Map(restored.restored.map((r) => [`${r.key}\0${r.versionId}`, r]));
  const failedKeys = new Map(restored.failed.map((f) => [f.key, f.reason]));
  const failed: { key: string; reason: string }[] = [];
  const summed = await mapLimit(view.objects, source.concurrency, async (object): Promise<SummedObject | undefined> => {
    const done = byVersion.get(`${object.key}\0${object.versionId}`);
    if (done) return { key: object.key, size: done.size, sha256: done.sha256 };
    const reason = view === restored.view ? failedKeys.get(object.key) : undefined;
    if (reason) return void failed.push({ key: object.key, reason });
    try {
      const content = await readObject(source.s3, object, undefined, signal);
      return { key: object.key, size: content.bytes, sha256: content.sha256 };
    } catch (error) {
      signal?.throwIfAborted();
      return void failed.push({ key: object.key, reason: (error as Error).message });
    }
  });
  const sums = sumObjects(
    summed.filter((s): s is SummedObject => s !== undefined),
    source.prefix,
  );
  return compareWithManifest(manifest, { ...sums, failed, sameSecond: view.sameSecond });
}

function noManifestCheck(source: AttachmentSource): CheckResult {
  return {
    name: `attachments ${s3Uri(source.bucket, source.prefix)}`,
    status: 'failed',
    expected: 'an attachment manifest recorded with the recovery point',
    actual: 'none found',
    detail:
      'nothing to compare the restored attachments with: record one with `restore-drill mark --s3 s3://bucket/prefix/` (or `dump --s3`)',
  };
}
