// The Barman method of a physical restore: `barman recover` (no target: Barman copies the backup and every
// archived WAL segment, decompressed, and writes no recovery settings that count) into the data directory,
// the segments it put in pg_wal moved to the staging folder and checked for a gap up to the archive's end,
// then `pg_verifybackup` of the copy against the backup's manifest. Barman runs outside the sandbox, as the
// trusted reader of its own repository; replay runs sandboxed as for any physical backup, reading only the
// staged WAL (Barman's `restore_command`, `barman-wal-restore` or `get-wal`, is never used).

import { readdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { RestoreDrillError } from '../../errors.ts';
import type { BarmanRestorable } from '../../model/physical-backup.ts';
import { barman, type BarmanServer } from '../../sources/barman/barman-command.ts';
import { findWalGap, listWalArchive, parseSegmentName, segmentName } from '../../sources/basebackup/wal-archive.ts';
import { verifyBackupFiles } from './base-backup-lay-down.ts';
import { ownTreeByServer, type PhysicalMethod } from './physical-cluster.ts';
import { restoredEntry } from './restored-entry.ts';
import { unreachableSpan } from './wal-gap-span.ts';

/** What `barman recover` adds to or changes in the copy: the backup's manifest cannot vouch for these. */
const CHANGED_BY_RECOVER = [
  '.barman-recover.info',
  'postgresql.conf', // archive_command = false; the restore replaces it with its own anyway
  'postgresql.conf.origin',
  'postgresql.auto.conf.origin',
];

/**
 * The restore method of a Barman backup, for {@link restorePhysical}.
 *
 * @example
 * await restorePhysical(cluster, barmanMethod(restorable), restorable.target, options);
 */
export function barmanMethod(restorable: BarmanRestorable): PhysicalMethod {
  const server: BarmanServer = {
    server: restorable.server,
    ...(restorable.config ? { config: restorable.config } : {}),
  };
  const manifestName = `backup_manifest.${restorable.backupId}`;
  return {
    what: `Barman backup ${restorable.server}/${restorable.backupId}`,
    major: restorable.major,
    ...(restorable.endLsn ? { consistentLsn: restorable.endLsn } : {}),
    async layDown(cluster, signal) {
      await barman(
        server,
        'recover',
        [restorable.server, restorable.backupId, cluster.dataDir],
        signal ? { signal } : {},
      );
      await ownTreeByServer(cluster, cluster.dataDir);
    },
    async stageWal(cluster, startSegment, stage, log, signal) {
      const from = parseSegmentName(startSegment)!;
      const pgWal = join(cluster.dataDir, 'pg_wal');
      if (!(await restoredEntry(cluster.dataDir, 'pg_wal'))?.isDirectory()) {
        throw new RestoreDrillError(
          `barman recover of ${restorable.server}/${restorable.backupId} left no pg_wal folder: there is no WAL to replay`,
          'check the server with barman check-backup',
        );
      }
      const names = (await readdir(pgWal)).filter(
        (name) => parseSegmentName(name)?.compression === null || /^[0-9A-F]{8}\.history$/.test(name),
      );
      // Moved, not copied: replay reads them from the staging folder only, like every physical restore's WAL.
      for (const name of names) await rename(join(pgWal, name), join(stage, name));
      const staged = (await listWalArchive(stage)).filter(
        (segment) => segment.segNo >= from.segNo && segment.timeline >= from.timeline,
      );
      const last = parseSegmentName(restorable.lastWal);
      const gap = findWalGap(staged, from);
      const newest = staged.at(-1);
      const missing = gap
        ? `segment ${gap.missing} (after ${gap.before}${gap.after ? `, before ${gap.after}` : ''}): nothing from LSN ${gap.fromLsn} on can be restored, ${await unreachableSpan(cluster, stage, startSegment, signal)}`
        : last && (!newest || newest.segNo < last.segNo)
          ? `segment ${segmentName(last.timeline, newest ? newest.segNo + 1n : from.segNo)} and after (Barman lists ${restorable.lastWal} as its newest): the archive's end cannot be reached`
          : null;
      if (missing) {
        throw new RestoreDrillError(
          `barman recover of ${restorable.server}/${restorable.backupId} brought no WAL ${missing}`,
          'check the server with barman check-backup and barman check, or restore to a target before it',
        );
      }
      log(
        `restore: ${staged.length} WAL segment(s) from barman recover staged (${startSegment} to ${newest?.name ?? startSegment})`,
      );
      return staged.length;
    },
    async verify(cluster, stage, signal, log) {
      const manifest = await restoredEntry(cluster.dataDir, manifestName);
      if (!manifest?.isFile()) {
        log(`restore: Barman backup ${restorable.backupId} has no backup_manifest: its files are not verified`);
        return `not verified: Barman backup ${restorable.backupId} has no backup_manifest (backup_method = rsync, or PostgreSQL < 13)`;
      }
      log(`restore: pg_verifybackup (every file of the Barman backup against its backup_manifest, and the WAL)`);
      const verdict = await verifyBackupFiles(cluster, stage, signal, {
        manifest: join(cluster.dataDir, manifestName),
        ignore: [...CHANGED_BY_RECOVER, manifestName],
      });
      return `${verdict} (except what barman recover rewrote: ${CHANGED_BY_RECOVER.join(', ')})`;
    },
  };
}
