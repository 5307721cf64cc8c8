import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { ResourceLabel } from '../environments/labels.ts';
import { startReaper } from '../environments/local/reaper.ts';
import { mapLimit } from '../util/map-limit.ts';
import type { AttachmentS3 } from './attachment-s3.ts';
import { ARCHIVED_CLASSES, type AttachmentObject, type AttachmentView } from './attachment-view.ts';
import { readObject } from './read-object.ts';

/** One object written to the directory: its key, the bytes received and their SHA-256 (hex). */
export interface RestoredObject {
  readonly key: string;
  readonly versionId: string;
  readonly size: number;
  readonly sha256: string;
}

/** A view restored into a disposable local directory, removed by `remove()` (or the watchdog if the process dies). */
export interface RestoredAttachments extends AsyncDisposable {
  /** The directory holding the objects under their keys. */
  readonly directory: string;
  readonly view: AttachmentView;
  readonly restored: readonly RestoredObject[];
  /** Objects that could not be restored, each with why (archived, unsafe key, read error, short read). */
  readonly failed: readonly { readonly key: string; readonly reason: string }[];
  readonly remove: () => Promise<void>;
}

/** Options of {@link restoreToDirectory}. */
export interface RestoreToDirectoryOptions {
  /** Parallel downloads; default 8. */
  readonly concurrency?: number;
  /** Where the disposable directory is made; default the system temp directory. */
  readonly parent?: string;
  readonly runId: string;
  readonly drillName?: string;
  readonly signal?: AbortSignal;
  readonly log?: (line: string) => void;
}

/**
 * Restores every object of `view` (each at its version) into a new labelled directory, streaming each one to
 * its file and hashing it on the way, a bounded number at a time. A key is never trusted as a path: one with
 * an empty, `.` or `..` segment is not written and is listed as failed, like an archived object (GLACIER,
 * DEEP_ARCHIVE: restore it from the archive class first) or one whose bytes did not arrive whole.
 *
 * @example
 * await using restored = await restoreToDirectory(s3, view, { runId });
 * restored.failed; // [] when every object came back
 */
export async function restoreToDirectory(
  s3: AttachmentS3,
  view: AttachmentView,
  options: RestoreToDirectoryOptions,
): Promise<RestoredAttachments> {
  const root = await mkdtemp(join(options.parent ?? tmpdir(), 'restore-drill-attachments-'));
  const label: ResourceLabel = {
    tool: 'restore-drill',
    kind: 'attachments-dir',
    runId: options.runId,
    drillName: options.drillName ?? 'attachments',
    ownerPid: process.pid,
    createdAt: new Date().toISOString(),
  };
  await writeFile(join(root, 'restore-drill.json'), JSON.stringify(label), { mode: 0o644 });
  // Restored attachments are production data: a killed drill must not leave them behind.
  startReaper(process.pid, root);
  const directory = join(root, 'objects');
  const remove = () => rm(root, { recursive: true, force: true });
  const restored: RestoredObject[] = [];
  const failed: { key: string; reason: string }[] = [];
  try {
    await mkdir(directory);
    let done = 0;
    await mapLimit(view.objects, options.concurrency ?? 8, async (object) => {
      const problem = await restoreOne(s3, object, directory, options.signal).then(
        (content) => {
          restored.push({ key: object.key, versionId: object.versionId, size: content.bytes, sha256: content.sha256 });
          return content.bytes === object.size ? undefined : `${content.bytes} bytes received, ${object.size} listed`;
        },
        (error: unknown) => {
          options.signal?.throwIfAborted();
          return (error as Error).message;
        },
      );
      if (problem) failed.push({ key: object.key, reason: problem });
      if (++done % 1000 === 0) options.log?.(`restored ${done} of ${view.objects.length} attachments`);
    });
  } catch (error) {
    await remove();
    throw error;
  }
  return { directory, view, restored, failed, remove, [Symbol.asyncDispose]: remove };
}

async function restoreOne(s3: AttachmentS3, object: AttachmentObject, directory: string, signal?: AbortSignal) {
  if (ARCHIVED_CLASSES.has(object.storageClass ?? ''))
    throw new Error(`archived in ${object.storageClass}: restore it from the archive class before the drill`);
  const segments = object.key.split('/');
  const folder = object.key.endsWith('/');
  if (folder) segments.pop();
  if (segments.some((s) => s === '' || s === '.' || s === '..' || s.includes('\0')))
    throw new Error('key is not a safe path (empty, . or .. segment); not written');
  const path = join(directory, ...segments);
  if (folder) {
    // A "folder" placeholder object: its content (normally empty) is hashed, the folder made.
    await mkdir(path, { recursive: true });
    return readObject(s3, object, undefined, signal);
  }
  await mkdir(dirname(path), { recursive: true });
  return readObject(s3, object, createWriteStream(path, { flags: 'wx', mode: 0o600 }), signal);
}
