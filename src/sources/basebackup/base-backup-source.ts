// The base backup source: implements `Source` (../source.ts) for `pg_basebackup` backups (plain or tar, with
// their `backup_manifest`) and the WAL archive `archive_command` fills. A recovery point is one backup; the
// moment it is restored to is the source's `target`, reached by replaying the archive (the environment does
// that, after `pg_verifybackup`).

import { mkdtemp, readdir, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ConfigError } from '../../errors.ts';
import { describeTarget, type BaseBackupRestorable, type RecoveryTarget } from '../../model/physical-backup.ts';
import type { RecoveryPoint } from '../../model/recovery-point.ts';
import { runCommand } from '../../postgres/run-command.ts';
import type { Source, SourceContext } from '../source.ts';
import { readBackupLabel, type BackupFormat } from './backup-label.ts';
import { isS3WalArchive, s3WalArchive, type S3WalArchiveOptions } from './s3-wal-archive.ts';
import { listWalArchive, parseSegmentName } from './wal-archive.ts';
import { backupsReaching } from '../reachable-backups.ts';

/** Options of {@link baseBackupSource}. */
export interface BaseBackupSourceConfig {
  /** A backup folder written by `pg_basebackup -D` (plain or `-Ft`), or a folder of such folders. */
  readonly path: string;
  /**
   * The folder `archive_command` copies WAL segments into (plain, or `.gz`/`.zst`/`.lz4`), or an S3 prefix
   * (`s3://bucket/prefix/`): the segments the backup needs are then downloaded into the run's work folder.
   */
  readonly walArchive: string;
  /** For an S3 `walArchive`: its own endpoint, region, credentials or client (default: the standard AWS configuration). */
  readonly s3?: S3WalArchiveOptions;
  /** The database the drill verifies; a physical backup holds the whole cluster. */
  readonly database: string;
  /** The moment to restore to (default `latest`: the end of the archive). */
  readonly target?: RecoveryTarget;
}

/**
 * Physical backups made with `pg_basebackup`, replayed from a WAL archive to a chosen moment. Pair it with
 * `localPostgres()` of the backup's major version; the environment runs `pg_verifybackup`, then replays the
 * WAL in the restore sandbox and proves where it stopped.
 *
 * @example
 * drill('shop at 03:00', {
 *   source: baseBackupSource({ path: '/backups/base', walArchive: '/backups/wal', database: 'shop',
 *     target: { type: 'time', time: new Date('2026-12-01T03:00:00Z') } }),
 * }, async ({ db }) => { … });
 */
export function baseBackupSource(config: BaseBackupSourceConfig): Source<BaseBackupRestorable> {
  const path = resolve(config.path);
  const s3 = isS3WalArchive(config.walArchive) ? s3WalArchive(config.walArchive, config.s3) : null;
  const walArchive = s3 ? s3.uri : resolve(config.walArchive);
  const target = config.target ?? { type: 'latest' };
  return {
    kind: 'base-backup',
    pointInTime: true,
    describe: (picked) => `base backups ${path} + WAL archive ${walArchive}, to ${describeTarget(picked ?? target)}`,
    async list(context: SourceContext): Promise<RecoveryPoint[]> {
      const folders = await backupFolders(path);
      const archive = s3 ? await s3.list(context.signal) : await listWalArchive(walArchive);
      const points: RecoveryPoint[] = [];
      for (const folder of folders) {
        const layout = await backupFormat(folder);
        const label = await readBackupLabel(folder, layout);
        const major = await readMajor(folder, layout);
        points.push({
          source: 'base-backup',
          id: folder,
          createdAt: label.startTime,
          createdAtBasis: 'backup_label start time',
          facts: {
            format: layout.format,
            serverMajor: major,
            startLsn: label.startLsn,
            startSegment: label.startSegment,
            timeline: label.timeline,
            walArchive,
            archiveNewestSegment: archive.at(-1)?.name ?? null,
            target: describeTarget(target),
          },
        });
      }
      const reachable = backupsReaching(points, target, { of: `base backup in ${path}`, since: 'started' });
      context.log(
        `locate: ${reachable.length} base backup(s) in ${path}, WAL archive has ${archive.length} segment(s)`,
      );
      return reachable;
    },
    async fetch(point: RecoveryPoint, context: SourceContext): Promise<BaseBackupRestorable> {
      const layout = await backupFormat(point.id);
      let local = walArchive;
      if (s3) {
        // The restore reads a folder: the segments from the backup's first one on, fetched into the run's work dir.
        local = await mkdtemp(join(context.workDir, 'wal-archive-'));
        const count = await s3.download(parseSegmentName(String(point.facts.startSegment))!, local, context.signal);
        context.log(`fetch: ${count} WAL segment(s) downloaded from ${walArchive}`);
      }
      return {
        kind: 'base-backup',
        path: point.id,
        format: layout.format,
        walArchive: local,
        ...(s3 ? { walArchiveOrigin: walArchive } : {}),
        database: config.database,
        target,
        major: Number(point.facts.serverMajor),
      };
    },
  };
}

/** The folder itself when it holds a backup, else each subfolder that does. */
async function backupFolders(path: string): Promise<string[]> {
  const info = await stat(path).catch(() => null);
  if (!info?.isDirectory())
    throw new ConfigError(
      `${path} is not a folder`,
      'give the folder pg_basebackup -D wrote, or a folder of such folders',
    );
  if (await isBackup(path)) return [path];
  const found: string[] = [];
  for (const entry of await readdir(path, { withFileTypes: true })) {
    if (entry.isDirectory() && (await isBackup(join(path, entry.name)))) found.push(join(path, entry.name));
  }
  return found;
}

async function isBackup(folder: string): Promise<boolean> {
  return (await stat(join(folder, 'backup_manifest')).catch(() => null))?.isFile() ?? false;
}

/** Plain (a data directory) or tar (`base.tar[.gz]`, `pg_wal.tar[.gz]`). */
export async function backupFormat(folder: string): Promise<BackupFormat> {
  const names = await readdir(folder);
  const baseTar = ['base.tar', 'base.tar.gz'].find((name) => names.includes(name));
  if (baseTar) {
    const tablespaces = names.filter((name) => /^\d+\.tar(\.gz)?$/.test(name));
    if (tablespaces.length > 0) {
      throw new ConfigError(
        `${folder} has tablespace archives (${tablespaces.join(', ')}), which restore-drill does not restore yet`,
        'back up a cluster without extra tablespaces',
      );
    }
    return {
      format: 'tar',
      baseTar,
      walTar: ['pg_wal.tar', 'pg_wal.tar.gz'].find((name) => names.includes(name)) ?? null,
    };
  }
  if (names.includes('PG_VERSION') && names.includes('backup_label')) return { format: 'plain' };
  throw new ConfigError(
    `${folder} has a backup_manifest but neither a data directory nor base.tar`,
    'give the folder pg_basebackup wrote (-Fp or -Ft)',
  );
}

async function readMajor(folder: string, layout: BackupFormat): Promise<number> {
  const text =
    layout.format === 'plain'
      ? await readFile(join(folder, 'PG_VERSION'), 'utf8')
      : (
          await runCommand('tar', [
            ...(layout.baseTar.endsWith('.gz') ? ['-z'] : []),
            '-xOf',
            join(folder, layout.baseTar),
            'PG_VERSION',
          ])
        ).stdout;
  const major = Number(text.trim());
  if (!Number.isInteger(major) || major < 9)
    throw new ConfigError(`${folder}: PG_VERSION says "${text.trim()}"`, 'give an intact pg_basebackup backup');
  return major;
}
