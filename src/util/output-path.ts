import { realpath, stat, statfs } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { ConfigError } from '../errors.ts';

/** statfs magic numbers of kernel file systems whose "files" are interfaces, not storage. */
const KERNEL_FS: ReadonlyMap<number, string> = new Map([
  [0x9fa0, 'procfs'],
  [0x62656572, 'sysfs'],
  [0x1cd1, 'devpts'],
  [0x73636673, 'securityfs'],
  [0x64626720, 'debugfs'],
  [0x74726163, 'tracefs'],
  [0x27e0eb, 'cgroup'],
  [0x63677270, 'cgroup2'],
]);
/** Where device nodes and kernel interfaces live, also when the file system type cannot be read. */
const SPECIAL_ROOTS = ['/proc', '/sys', '/dev'];

/** What kind of thing a stat result is, in words, for everything that is not a file or folder. */
function describeSpecial(info: Awaited<ReturnType<typeof stat>>): string | null {
  if (info.isCharacterDevice()) return 'a character device';
  if (info.isBlockDevice()) return 'a block device';
  if (info.isFIFO()) return 'a FIFO (named pipe)';
  if (info.isSocket()) return 'a socket';
  return null;
}

/**
 * Refuses an output path that is not storage, before anything is written: a device (`/dev/sda`), a FIFO, a
 * socket, or anything on `/proc`, `/sys` or `/dev` (writing a dump there hangs, corrupts the host, or fails
 * after the database has been read for hours). A symlink is judged by what it points to. A path that does not
 * exist yet is judged by the folder it would be created in. `flag` names the option in the message.
 *
 * @example
 * await checkOutputPath('/proc/self/mem', 'custom', '--out'); // throws ConfigError: --out /proc/self/mem is on procfs…
 */
export async function checkOutputPath(path: string, format: 'custom' | 'directory', flag = '--out'): Promise<void> {
  const hint = 'write to a regular file (or a folder ending in / for directory format) on a disk';
  const target = await stat(path).catch(() => null);
  if (target) {
    const special = describeSpecial(target);
    if (special) throw new ConfigError(`${flag} ${path} is ${special}, not a file`, hint);
    if (format === 'custom' && target.isDirectory()) {
      throw new ConfigError(
        `${flag} ${path} is a folder`,
        'name a file for custom format, or end the path with / for directory format',
      );
    }
  }
  // The nearest folder that exists is where the output would be created (pg_dump and mkdir create the rest).
  let existing = target ? path : dirname(resolve(path));
  for (;;) {
    const real = await realpath(existing).catch(() => null);
    if (real) {
      existing = real;
      break;
    }
    const parent = dirname(existing);
    if (parent === existing) return;
    existing = parent;
  }
  // /dev/shm is shared memory, a tmpfs: real storage, if small.
  const inShm = existing === '/dev/shm' || existing.startsWith('/dev/shm/');
  const root = inShm ? undefined : SPECIAL_ROOTS.find((r) => existing === r || existing.startsWith(`${r}/`));
  const fs = KERNEL_FS.get((await statfs(existing).catch(() => null))?.type ?? -1);
  if (fs || root) {
    throw new ConfigError(`${flag} ${path} is on ${fs ?? root}, which holds kernel interfaces, not files`, hint);
  }
}
