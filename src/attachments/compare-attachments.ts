import type { CheckResult } from '../model/report.ts';
import { s3Uri } from '../sources/s3/s3-uri.ts';
import type { AttachmentManifest, AttachmentSums } from './attachment-manifest.ts';

/** Groups and keys named in a detail before the rest is only counted. */
const SHOWN = 5;

/** What was restored for a manifest's point in time: the sums of the restored bytes, and what could not be restored. */
export interface RestoredSums extends AttachmentSums {
  readonly groups: Record<string, AttachmentSums>;
  readonly failed: readonly { readonly key: string; readonly reason: string }[];
  /** Keys whose version and delete marker share a second (see AttachmentView.sameSecond). */
  readonly sameSecond: readonly string[];
}

/**
 * Compares the restored view with the manifest taken in production: passes only when the count, bytes and
 * checksum agree and every object was restored. A difference is narrowed down to the prefix groups that
 * differ (like a table's key ranges), with what each expected and got, and the first keys that failed.
 *
 * @example
 * compareWithManifest(manifest, restoredSums); // { name: 'attachments s3://b/p/ at 2026-…', status: 'failed', detail: 'group 2026-11/: …' }
 */
export function compareWithManifest(manifest: AttachmentManifest, restored: RestoredSums): CheckResult {
  const describe = (s: AttachmentSums | undefined) =>
    s ? `${s.objects} objects, ${s.bytes} bytes, sum ${s.sum}` : 'no objects';
  const names = [...new Set([...Object.keys(manifest.groups), ...Object.keys(restored.groups)])].sort();
  const differing = names.filter((name) => !sameSums(manifest.groups[name], restored.groups[name]));
  const parts: string[] = [];
  if (differing.length) {
    const shown = differing
      .slice(0, SHOWN)
      .map(
        (name) =>
          `group ${name}: expected ${describe(manifest.groups[name])}, restored ${describe(restored.groups[name])}`,
      );
    parts.push(shown.join('; ') + more(differing.length));
  }
  if (restored.failed.length) {
    parts.push(
      `not restored: ${restored.failed
        .slice(0, SHOWN)
        .map((f) => `${JSON.stringify(f.key)} (${f.reason})`)
        .join(', ')}${more(restored.failed.length)}`,
    );
  }
  if (manifest.objects === 0) parts.push('the manifest recorded no object: only that absence was compared');
  if (manifest.checksums.archived)
    parts.push(
      `${manifest.checksums.archived} objects were archived when the manifest was taken: their content was not hashed`,
    );
  if (restored.sameSecond.length)
    parts.push(
      `version and delete marker in the same second (kept the version): ${restored.sameSecond
        .slice(0, SHOWN)
        .map((k) => JSON.stringify(k))
        .join(', ')}${more(restored.sameSecond.length)}`,
    );
  const passed =
    sameSums(manifest, restored) &&
    differing.length === 0 &&
    restored.failed.length === 0 &&
    manifest.checksums.archived === 0;
  return {
    name: `attachments ${s3Uri(manifest.bucket, manifest.prefix)} at ${manifest.at}`,
    status: passed ? 'passed' : 'failed',
    expected: describe(manifest),
    actual: describe(restored),
    ...(parts.length ? { detail: parts.join('; ') } : {}),
  };
}

function sameSums(a: AttachmentSums | undefined, b: AttachmentSums | undefined): boolean {
  return a !== undefined && b !== undefined && a.objects === b.objects && a.bytes === b.bytes && a.sum === b.sum;
}

function more(total: number): string {
  return total > SHOWN ? ` and ${total - SHOWN} more` : '';
}
