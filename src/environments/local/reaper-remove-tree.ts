import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  openSync,
  readdirSync,
  rmdirSync,
  unlinkSync,
  type Stats,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** A tree that {@link removeOwnTree} would not (or could not wholly) remove, and why. */
export class TreeNotRemovedError extends Error {
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`not removing ${path}: ${reason}`);
  }
}

/** Options of {@link removeOwnTree}. */
export interface RemoveTreeOptions {
  /**
   * Checked on the opened directory (`at` names it through the open handle, e.g. `${at}/restore-drill.json`),
   * before anything is removed: a reason to leave it alone, or null. This is where a label is re-checked.
   */
  readonly verify?: (at: string, dir: Stats) => string | null | Promise<string | null>;
  /** Entries of the top directory removed last (the label: a tree that could not be removed stays known as ours). */
  readonly last?: readonly string[];
  /**
   * Descend into every directory, whoever owns it. Only for a tree no other account on this host can reach
   * (a container's socket folder): see {@link removeOwnTree} for the rule otherwise.
   */
  readonly anyOwner?: boolean;
  /** Called before each step; tests swap things in here to prove no step can be turned against the host. */
  readonly onStep?: (step: RemovalStep, path: string) => void;
}

/** The points {@link removeOwnTree} can be interrupted at: before opening the top, an entry, or removing one. */
export type RemovalStep = 'open-top' | 'verify' | 'open-dir' | 'unlink' | 'rmdir' | 'rmdir-top';

const OPEN_DIR = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;

/**
 * Deletes a directory tree without ever following a symlink, at any depth, even while another process swaps
 * entries under it — the way `cleanup` and a crashed run's watchdog may delete, as root, a folder an
 * untrusted account (the server's) could write to:
 * - the top is opened with `O_NOFOLLOW | O_DIRECTORY`, checked to be the directory that was looked at, and
 *   `verify` runs on the open handle — a symlink or a directory swapped in after the check is refused;
 * - every name below is resolved through the open handle of its parent (`/proc/self/fd/N/name`), never through a
 *   path from the root, so swapping a parent for a symlink changes nothing; a subdirectory is opened with
 *   `O_NOFOLLOW` and checked against what `lstat` saw; `unlink`/`rmdir` never follow the last name;
 * - it never leaves the top's file system (a mount inside the tree is left alone, and reported);
 * - it descends into a directory only when this user owns it, or the directory it is in has the same owner,
 *   or that directory is this user's and writable by nobody else (so only this user put it there): a
 *   directory another account moved into the tree — one it could not have deleted itself — is left, and
 *   reported. Files and symlinks are unlinked whoever owns them: that deletes no more than moving them in did.
 * Throws {@link TreeNotRemovedError} when it refuses or something is left.
 *
 * @example
 * await removeOwnTree('/tmp/restore-drill-rd20261123t175226z-3f9a1c-AbC123', { last: ['restore-drill.json'] });
 */
export async function removeOwnTree(path: string, options: RemoveTreeOptions = {}): Promise<void> {
  const step = options.onStep ?? (() => {});
  const seen = lstatOrNull(path);
  if (!seen) return;
  if (!seen.isDirectory())
    throw new TreeNotRemovedError(path, seen.isSymbolicLink() ? 'it is a symlink' : 'it is not a directory');
  step('open-top', path);
  const top = openDir(path, seen);
  if (typeof top === 'string') throw new TreeNotRemovedError(path, top);
  const left: string[] = [];
  try {
    step('verify', path);
    const refused = await options.verify?.(fdPath(top.fd), top.stats);
    if (refused) throw new TreeNotRemovedError(path, refused);
    const last = new Set(options.last ?? []);
    const names = readdirSync(fdPath(top.fd));
    const ordered = [...names.filter((n) => !last.has(n)), ...names.filter((n) => last.has(n))];
    const walk: Walk = {
      dev: top.stats.dev,
      me: process.getuid?.() ?? 0,
      anyOwner: options.anyOwner ?? false,
      step,
      left,
    };
    for (const name of ordered) removeEntry({ fd: top.fd, stats: top.stats }, name, join(path, name), walk);
  } finally {
    closeSync(top.fd);
  }
  if (left.length)
    throw new TreeNotRemovedError(
      path,
      `left ${left.slice(0, 3).join(', ')}${left.length > 3 ? ` and ${left.length - 3} more` : ''}`,
    );
  removeTop(path, seen, step);
}

interface Walk {
  /** The top's file system: never left. */
  readonly dev: number;
  readonly me: number;
  readonly anyOwner: boolean;
  readonly step: (step: RemovalStep, path: string) => void;
  /** What could not be removed (shown paths). */
  readonly left: string[];
}

/** Removes `name` in the open directory `parent` (`shown` is its path, for messages only). */
function removeEntry(
  parent: { readonly fd: number; readonly stats: Stats },
  name: string,
  shown: string,
  walk: Walk,
): void {
  const at = join(fdPath(parent.fd), name);
  const entry = lstatOrNull(at);
  if (!entry) return;
  if (!entry.isDirectory()) {
    walk.step('unlink', shown);
    // unlink never follows the last name: a symlink is removed, not what it points to.
    if (!tryRemove(() => unlinkSync(at))) walk.left.push(shown);
    return;
  }
  if (entry.dev !== walk.dev) return void walk.left.push(`${shown} (another file system)`);
  const placedByUs = parent.stats.uid === walk.me && (parent.stats.mode & 0o022) === 0;
  if (!walk.anyOwner && entry.uid !== walk.me && entry.uid !== parent.stats.uid && !placedByUs) {
    return void walk.left.push(`${shown} (owned by uid ${entry.uid}, in a folder of uid ${parent.stats.uid})`);
  }
  walk.step('open-dir', shown);
  const dir = openDir(at, entry);
  if (typeof dir === 'string') {
    // Swapped since the lstat (for a symlink, a file or another directory): looked at again, once.
    const again = lstatOrNull(at);
    if (again && !again.isDirectory()) return removeEntry(parent, name, shown, walk);
    return void walk.left.push(`${shown} (${dir})`);
  }
  const leftBefore = walk.left.length;
  try {
    for (const child of readdirSync(fdPath(dir.fd))) removeEntry(dir, child, join(shown, child), walk);
  } finally {
    closeSync(dir.fd);
  }
  walk.step('rmdir', shown);
  // rmdir never follows the last name either; a directory swapped in meanwhile is removed only if empty.
  // A directory that keeps something already named is not named again.
  if (!tryRemove(() => rmdirSync(at)) && walk.left.length === leftBefore) walk.left.push(shown);
}

/** The top directory itself, through its parent, only if the name still holds the directory that was emptied. */
function removeTop(path: string, seen: Stats, step: (step: RemovalStep, path: string) => void): void {
  step('rmdir-top', path);
  const parent = openSync(dirname(path), constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    const at = join(fdPath(parent), basename(path));
    const now = lstatOrNull(at);
    if (!now) return;
    if (!now.isDirectory() || now.dev !== seen.dev || now.ino !== seen.ino)
      throw new TreeNotRemovedError(path, 'it was replaced while it was being removed');
    rmdirSync(at);
  } finally {
    closeSync(parent);
  }
}

/** Opens a directory without following a symlink, and checks it is the one `expected` describes. */
function openDir(path: string, expected: Stats): { fd: number; stats: Stats } | string {
  let fd: number;
  try {
    fd = openSync(path, OPEN_DIR);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ELOOP' && code !== 'ENOTDIR') return `it cannot be opened (${code})`;
    // O_NOFOLLOW | O_DIRECTORY refuses a symlink with either code.
    return lstatOrNull(path)?.isSymbolicLink() ? 'it became a symlink' : 'it is no longer a directory';
  }
  const stats = fstatSync(fd);
  if (stats.dev !== expected.dev || stats.ino !== expected.ino) {
    closeSync(fd);
    return 'it was replaced by another directory';
  }
  return { fd, stats };
}

/** A name inside an open directory, resolved from that directory whatever happens to the path above it. */
function fdPath(fd: number): string {
  return `/proc/self/fd/${fd}`;
}

function lstatOrNull(path: string): Stats | null {
  try {
    return lstatSync(path);
  } catch {
    return null;
  }
}

/** Runs a removal; false when the entry is still there (another process keeps writing into it). */
function tryRemove(remove: () => void): boolean {
  try {
    remove();
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT';
  }
}
