import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../errors.ts';
import { pinSocket } from '../pinned-socket.ts';
import { RESOURCE_PREFIX, type ResourceLabel } from '../labels.ts';
import { LABEL_FILE } from '../local/local-postgres.ts';
import { startReaper } from '../local/reaper.ts';
import { removeOwnTree } from '../local/reaper-remove-tree.ts';

/** Where the socket folder is mounted inside the container. */
export const SOCKET_MOUNT = '/run/restore-drill-socket';

/** A Unix socket's path must fit in 108 bytes (`sun_path`), its name included. */
const MAX_SOCKET_PATH = 107;

/** The host side of a container's socket folder: the only thing the container shares with the host's files. */
export interface SocketDir {
  /** The labelled per-drill folder (mode 700, this user's): only this user and root can pass through it. */
  readonly dir: string;
  /** The folder bind-mounted at {@link SOCKET_MOUNT}: the server creates its socket here. */
  readonly socketDir: string;
  /**
   * Where to connect from now on: a folder only this user can write to, holding a hard link to the server's
   * socket — so code in the container, which can replace anything in the shared folder (with a symlink to a
   * socket of this machine, say), cannot redirect the harness's later connections. Null when the link cannot
   * be made (not root: the kernel's protected_hardlinks refuses to link another account's socket); then the
   * shared folder is used, checked to hold a socket, not a symlink, at that moment.
   */
  pin(port: number): Promise<string | null>;
  /** Deletes the folder (call after the container is removed: nothing else can write into it then). */
  remove(): Promise<void>;
}

/**
 * Makes the folder a container's server puts its Unix socket in: `restore-drill-<run id>-…/socket` in the
 * OS temp dir, labelled as the run's and watched by the reaper, so a killed run leaves it to `cleanup` and
 * the watchdog. The socket folder itself is open to every uid (the image's postgres account is not ours to
 * know), but it sits in a folder of mode 700, so no other account on this host can reach it.
 *
 * @example
 * const sockets = await makeSocketDir(label, 5433);
 * container.withBindMounts([{ source: sockets.socketDir, target: SOCKET_MOUNT, mode: 'rw' }]);
 */
export async function makeSocketDir(label: ResourceLabel, port: number): Promise<SocketDir> {
  const dir = await mkdtemp(join(tmpdir(), `${RESOURCE_PREFIX}${label.runId}-`));
  const socketDir = join(dir, 'socket');
  const removal = { removed: false };
  const remove = async () => {
    if (removal.removed) return;
    removal.removed = true;
    await removeOwnTree(dir, { last: [LABEL_FILE], anyOwner: true });
  };
  try {
    await writeFile(join(dir, LABEL_FILE), JSON.stringify(label, null, 2), { mode: 0o644 }); // cleanup trusts no writable label
    startReaper(process.pid, dir);
    if (`${socketDir}/.s.PGSQL.${port}`.length > MAX_SOCKET_PATH) {
      throw new ConfigError(
        `the temp folder ${tmpdir()} is too long a path for the container's Unix socket (at most ${MAX_SOCKET_PATH} bytes)`,
        'set TMPDIR to a shorter folder',
      );
    }
    await mkdir(socketDir);
    await chmod(socketDir, 0o777); // not the umask's: the container's postgres account must create its socket here
  } catch (error) {
    await remove();
    throw error;
  }
  const pin = async (port: number): Promise<string | null> => {
    const pinned = join(dir, 'pinned');
    if (await pinSocket(socketDir, pinned, port)) return pinned;
    await rm(pinned, { recursive: true, force: true });
    return null;
  };
  return { dir, socketDir, pin, remove };
}
