import { link, lstat, mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { RestoreDrillError } from '../errors.ts';

/**
 * Hard-links a started server's Unix socket (`.s.PGSQL.<port>` in `socketDir`) into `pinnedDir`, a folder
 * only this process's user can write to, and returns true; every later connection goes through that link.
 * Call it once the server listens and before any of the backup's code has run: the backup's code can write
 * where the server does — it could replace the socket with a symlink to another server of this machine —
 * but not into `pinnedDir`, and a link names the socket's inode, not its path, so it keeps reaching the
 * server that made it. That also covers clients that cannot check whom they reached (`pg_restore` with a
 * libpq older than 16 ignores `PGREQUIREAUTH`). Call again after every restart: a new server, a new socket.
 *
 * Returns false when the kernel refuses the link (`protected_hardlinks`: not root, and the socket belongs to
 * another account, as a container image's server does); the socket folder must then be used, and it is
 * checked to hold a socket, not a symlink, at this moment.
 *
 * @example
 * const pinned = await pinSocket(sockets, join(dir, 'pinned'), 5432);
 * const host = pinned ? join(dir, 'pinned') : sockets;
 */
export async function pinSocket(socketDir: string, pinnedDir: string, port: number): Promise<boolean> {
  const name = `.s.PGSQL.${port}`;
  try {
    await mkdir(pinnedDir, { mode: 0o700 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  if ((await lstat(pinnedDir)).uid !== (process.getuid?.() ?? 0)) {
    throw new RestoreDrillError(`${pinnedDir} is not this user's folder`, 'do not trust this drill');
  }
  await rm(join(pinnedDir, name), { force: true }); // the link to a server that stopped
  try {
    // link() does not follow a symlink: if the socket was already replaced by one, the link is a symlink too.
    await link(join(socketDir, name), join(pinnedDir, name));
    if ((await lstat(join(pinnedDir, name))).isSocket()) return true;
  } catch {
    // Not root (protected_hardlinks), or the socket is gone: fall through to the check of the shared folder.
  }
  await rm(join(pinnedDir, name), { force: true });
  const shared = await lstat(join(socketDir, name)).catch(() => null);
  if (!shared?.isSocket()) {
    throw new RestoreDrillError(
      `the server's socket in ${socketDir} is not a socket`,
      "the server's own code replaced it: do not trust this drill",
    );
  }
  return false;
}
