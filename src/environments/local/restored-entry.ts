// A restored data directory is the backup's: any entry in it may be a symlink to a file or folder of this host,
// planted there. The harness reads and writes in it (as root in CI) while nothing of the backup runs, and goes
// through an entry only after checking, component by component, that none is a link.

import { readlink, lstat, unlink } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { join } from 'node:path';
import { RestoreDrillError } from '../../errors.ts';
import { removeOwnTree } from './reaper-remove-tree.ts';

/**
 * The `lstat` of `relative` (e.g. `pg_wal`, `pg_tblspc`) inside a restored data directory, or null when it is
 * absent. A symlink at any component is refused, naming it, instead of being followed out of the restored
 * copy. That includes a `pg_wal` that is a link: production may keep its WAL elsewhere (`initdb -X`), but
 * `pg_basebackup` stores pg_wal as a folder (unless `--waldir`) and pgBackRest restores links as folders
 * unless told otherwise, so a link here points at this host, not at the backup's WAL.
 *
 * @example
 * const wal = await restoredEntry(cluster.dataDir, 'pg_wal'); // throws when pg_wal is a symlink
 * if (wal?.isDirectory()) await listWalArchive(join(cluster.dataDir, 'pg_wal'));
 */
export async function restoredEntry(dataDir: string, relative: string): Promise<Stats | null> {
  let path = dataDir;
  let stats: Stats | null = null;
  for (const part of relative.split('/').filter(Boolean)) {
    path = join(path, part);
    stats = await lstat(path).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT' || error.code === 'ENOTDIR') return null;
      throw error;
    });
    if (!stats) return null;
    if (stats.isSymbolicLink()) {
      const target = await readlink(path).catch(() => '?');
      throw new RestoreDrillError(
        `the restored backup's ${relative === part ? part : `${relative} (at ${part})`} is a symlink to ${printable(target)}: restore-drill does not follow a link out of the restored copy`,
        part === 'pg_wal'
          ? 'take the backup with its WAL folder inside it (pg_basebackup without --waldir; pgBackRest without link-all)'
          : 'take the backup without symlinks in its data directory',
      );
    }
  }
  return stats;
}

/**
 * Makes room at `name` of a restored data directory for a file of the harness: whatever the backup put there
 * (a symlink to a file of this host, a folder) is unlinked or removed, never followed. The caller then creates
 * the file exclusively (`wx`, `COPYFILE_EXCL`), so an entry that reappears in between is refused.
 *
 * @example
 * await clearRestoredEntry(join(cluster.dataDir, 'backup_manifest'));
 * await copyFile(manifest, join(cluster.dataDir, 'backup_manifest'), constants.COPYFILE_EXCL);
 */
export async function clearRestoredEntry(path: string): Promise<void> {
  const old = await lstat(path).catch(() => null);
  if (old?.isDirectory()) await removeOwnTree(path);
  else if (old) await unlink(path);
}

/** A link target is the backup's text: one line, bounded. */
function printable(text: string): string {
  const clean = text.replace(/[\u0000-\u001f\u007f]+/g, ' ');
  return JSON.stringify(clean.length > 120 ? `${clean.slice(0, 119)}…` : clean);
}
