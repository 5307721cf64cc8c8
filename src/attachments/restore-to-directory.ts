import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { ResourceLabel } from '../environments/labels.ts';
import { startReaper } from '../environments/local/reaper.ts';
import type { AttachmentS3 } from './attachment-s3.ts';
import { ARCHIVED_CLASSES, type AttachmentObject, type AttachmentView } from './attachment-view.ts';
import { readObject } from './read-object.ts';
import { restoreObjects, type RestoredObject } from './restore-objects.ts';

export type { RestoredObject } from './restore-objects.ts';

/**
 * A view restored into a disposable place — a local directory, or a scratch prefix or bucket — removed by
 * `remove()` (or, for a directory, the watchdog if the process dies; for a scratch prefix, `restore-drill
 * cleanup --s3-scratch` once it has expired).
 */
export interface RestoredAttachments extends AsyncDisposable {
  /** Where the objects are under their keys: a directory path, or an `s3://bucket/prefix/` URI. */
  readonly location: string;
  /** The local directory holding the objects; absent when they were restored to a scratch prefix. */
  readonly directory?: string;
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
  try {
    await mkdir(directory);
    const { restored, failed } = await restoreObjects(view, options, (object) =>
      restoreOne(s3, object, directory, options.signal),
    );
    return { location: directory, directory, view, restored, failed, remove, [Symbol.asyncDispose]: remove };
  } catch (error) {
    await remove();
    throw error;
  }
}

async function restoreOne(s3: AttachmentS3, object: AttachmentObject, directory: string, signal?: AbortSignal) {
  refuseArchived(object);
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

/** An archived version cannot be read (nor copied) until it is thawed: named, never silently skipped. */
export function refuseArchived(object: AttachmentObject): void {
  if (ARCHIVED_CLASSES.has(object.storageClass ?? ''))
    throw new Error(`archived in ${object.storageClass}: restore it from the archive class before the drill`);
}
