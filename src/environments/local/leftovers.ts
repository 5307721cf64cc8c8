import { constants, type Stats } from 'node:fs';
import { lstat, open, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RESOURCE_PREFIX, type ResourceLabel } from '../labels.ts';
import { processAlive } from '../../util/process-alive.ts';
import type { Leftover, LeftoverOptions } from '../leftover.ts';
import { killPostmaster, LABEL_FILE } from './local-postgres.ts';
import { removeOwnTree } from './reaper-remove-tree.ts';

/**
 * Finds local clusters and work dirs left by crashed runs: directories named `restore-drill-*` that are
 * provably ours ({@link checkOwnLeftover}) and whose owner process is gone (or, with `olderThanSeconds`,
 * that are that old). Anything else is never touched: this runs as root at the start of every drill, in a
 * temp dir every user can write to.
 */
export async function findLocalLeftovers(options: LeftoverOptions = {}): Promise<Leftover[]> {
  const parent = options.parentDir ?? tmpdir();
  const names = (await readdir(parent).catch(() => [] as string[])).filter((n) => n.startsWith(RESOURCE_PREFIX));
  const found: Leftover[] = [];
  for (const name of names) {
    const location = join(parent, name);
    const checked = await checkOwnLeftover(location);
    if ('reason' in checked) {
      if (!checked.unlabelled) options.onSkip?.(location, checked.reason);
      continue;
    }
    const { label } = checked;
    const ageSeconds = (Date.now() - new Date(label.createdAt).getTime()) / 1000;
    const ownerGone = !processAlive(label.ownerPid);
    if (options.olderThanSeconds !== undefined) {
      if (!(ageSeconds >= options.olderThanSeconds)) continue;
      found.push({
        kind: label.kind,
        location,
        label,
        reason: ownerGone
          ? `owner process ${label.ownerPid} is gone`
          : `older than the limit (${Math.round(ageSeconds)}s)`,
      });
    } else if (ownerGone) {
      found.push({ kind: label.kind, location, label, reason: `owner process ${label.ownerPid} is gone` });
    }
  }
  return found;
}

/** The largest label file read; ours are a few hundred bytes. */
const MAX_LABEL_BYTES = 64 * 1024;

/**
 * Whether a `restore-drill-*` entry is provably one this user's runs made, and its label. It must be:
 * a real directory (a symlink is never followed), owned by this user — or, when running as root, by any
 * account the server ran as, since the label then proves it — and not writable by group or others; its
 * label a regular file (not a symlink, one link only) owned by this user or root, not writable by group or
 * others, naming restore-drill. An unprivileged user cannot create a file owned by root, and one planted in
 * another user's directory is owned by that user. (The server's account could move the root-owned label
 * of its own cluster into a directory it made; that is why removal never descends, as root, into a directory
 * of a third account inside such a tree: see removeOwnTree.)
 *
 * @example
 * const checked = await checkOwnLeftover('/tmp/restore-drill-rd20261123t175226z-3f9a1c-AbC123');
 * if ('reason' in checked) console.log(`left alone: ${checked.reason}`); // `unlabelled`: not even claimed as ours
 */
export async function checkOwnLeftover(
  location: string,
): Promise<{ label: ResourceLabel } | { reason: string; unlabelled?: boolean }> {
  const dir = await lstat(location).catch(() => null);
  if (!dir) return { reason: 'it is gone', unlabelled: true };
  if (dir.isSymbolicLink()) return { reason: 'it is a symlink' };
  if (!dir.isDirectory()) return { reason: 'it is not a directory' };
  return checkOwnDirectory(location, dir);
}

/**
 * {@link checkOwnLeftover}'s checks of a directory already known not to be a symlink: `location` may name it
 * through an open handle (`/proc/self/fd/N`), so the label read is the one in the directory that was opened.
 */
async function checkOwnDirectory(
  location: string,
  dir: Stats,
): Promise<{ label: ResourceLabel } | { reason: string; unlabelled?: boolean }> {
  const me = process.getuid?.() ?? 0;
  const trusted = (uid: number) => uid === me || uid === 0;
  // Root made the directory and then handed it to the server's account (the label stays root's).
  if (!trusted(dir.uid) && me !== 0) return { reason: `it is owned by uid ${dir.uid}, not by this user (${me})` };
  if ((dir.mode & 0o022) !== 0)
    return { reason: `it is writable by other users (mode ${(dir.mode & 0o777).toString(8)})` };

  let handle;
  try {
    // O_NOFOLLOW: a label that is a symlink (to a root-owned file, say) proves nothing.
    handle = await open(join(location, LABEL_FILE), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as { code?: string }).code;
    return {
      reason:
        code === 'ELOOP'
          ? 'its label is a symlink'
          : code === 'ENOENT'
            ? 'it has no restore-drill label'
            : `its label cannot be read (${code})`,
      unlabelled: code === 'ENOENT',
    };
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) return { reason: 'its label is not a regular file' };
    if (info.nlink !== 1) return { reason: 'its label has other hard links' };
    if (!trusted(info.uid)) return { reason: `its label is owned by uid ${info.uid}, not by this user or root` };
    if (!trusted(dir.uid) && info.uid !== 0)
      return { reason: `it is owned by uid ${dir.uid} and its label is not root's` };
    if ((info.mode & 0o022) !== 0) return { reason: 'its label is writable by other users' };
    if (info.size > MAX_LABEL_BYTES) return { reason: 'its label is too large to be ours' };
    const { buffer, bytesRead } = await handle.read({ buffer: Buffer.alloc(MAX_LABEL_BYTES), position: 0 });
    const label = JSON.parse(buffer.subarray(0, bytesRead).toString('utf8')) as ResourceLabel;
    if (
      label?.tool !== 'restore-drill' ||
      typeof label.ownerPid !== 'number' ||
      !Number.isInteger(label.ownerPid) ||
      label.ownerPid <= 0
    ) {
      return { reason: 'its label is not a restore-drill label' };
    }
    return { label };
  } catch {
    return { reason: 'its label is not a restore-drill label' };
  } finally {
    await handle.close();
  }
}

/**
 * Stops a leftover cluster (only a postmaster whose command line names its data dir), ends the tools the
 * killed run left working in it (a `cp` of the template, `initdb`: they outlive a SIGKILLed parent and would
 * write the directory back), and deletes its directory with {@link removeOwnTree}: through open directory
 * handles, never following a symlink, the ownership and label checked again on the opened directory — a
 * process of the server's account still running (code from a backup that detached itself) may swap anything
 * for a symlink at any moment, and nothing outside the directory goes.
 */
export async function removeLocalLeftover(leftover: Leftover): Promise<void> {
  // Checked again right before deleting: the entry may have been swapped for a symlink since it was found.
  const checked = await checkOwnLeftover(leftover.location);
  if ('reason' in checked) throw new Error(`not removing ${leftover.location}: ${checked.reason}`);
  await killPostmaster(join(leftover.location, 'data'));
  await killProcessesNaming(leftover.location);
  const verify = async (at: string, dir: Stats) => {
    const again = await checkOwnDirectory(at, dir);
    return 'reason' in again
      ? again.reason
      : again.label.runId === checked.label.runId
        ? null
        : 'its label changed since it was checked';
  };
  // The label goes last, as in the reaper: a directory that could not be removed stays known as ours.
  await removeOwnTree(leftover.location, { verify, last: [LABEL_FILE] });
}

/** SIGKILLs every other process whose command line names `dir` (a unique, labelled path of ours), and waits for them. */
async function killProcessesNaming(dir: string): Promise<void> {
  const killed: number[] = [];
  for (const entry of await readdir('/proc').catch(() => [] as string[])) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    const args = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0');
    if (!args.some((arg) => arg === dir || arg.startsWith(`${dir}/`) || arg.includes(`=${dir}/`))) continue;
    try {
      process.kill(pid, 'SIGKILL');
      killed.push(pid);
    } catch {
      // Gone meanwhile.
    }
  }
  for (let i = 0; i < 50 && killed.some(processAlive); i++) await new Promise((r) => setTimeout(r, 20));
}
