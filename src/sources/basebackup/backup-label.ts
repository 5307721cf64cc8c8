// `backup_label`, the file pg_basebackup puts at the top of every base backup: where replay must start and
// when the backup began. Read from the folder (plain format) or out of base.tar[.gz] (tar format) without
// extracting anything else.

import { constants, open } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError } from '../../errors.ts';
import { runCommand } from '../../postgres/run-command.ts';

/** What a base backup's `backup_label` says. */
export interface BackupLabel {
  /** The segment file replay starts in, e.g. `000000010000000000000002`. */
  readonly startSegment: string;
  /** The LSN replay starts at, e.g. `0/2000028`. */
  readonly startLsn: string;
  readonly timeline: number;
  readonly startTime: Date;
  /** `pg_basebackup` (streamed) or `pg_start_backup`/`pg_backup_start` (exclusive or by hand). */
  readonly method: string;
}

/** Parses the text of a `backup_label`; a ConfigError naming `where` when it is not one. */
export function parseBackupLabel(text: string, where: string): BackupLabel {
  const field = (name: string) => new RegExp(`^${name}: (.*)$`, 'm').exec(text)?.[1]?.trim();
  const start = /^(\S+) \(file ([0-9A-F]{24})\)$/.exec(field('START WAL LOCATION') ?? '');
  const time = field('START TIME');
  const startTime = time
    ? new Date(
        time
          .replace(/^(\S+) (\S+) (\S+)$/, '$1T$2 $3')
          .replace(' UTC', 'Z')
          .replace(' GMT', 'Z'),
      )
    : new Date(NaN);
  if (!start || Number.isNaN(startTime.getTime())) {
    throw new ConfigError(
      `${where} is not a base backup: its backup_label has no START WAL LOCATION or START TIME`,
      'give the folder pg_basebackup wrote',
    );
  }
  return {
    startLsn: start[1]!,
    startSegment: start[2]!,
    timeline: Number(field('START TIMELINE') ?? parseInt(start[2]!.slice(0, 8), 16)),
    startTime,
    method: field('BACKUP METHOD') ?? 'unknown',
  };
}

/** Where a backup's data directory lives inside its folder: the folder itself, or `base.tar`/`base.tar.gz`. */
export type BackupFormat =
  { readonly format: 'plain' } | { readonly format: 'tar'; readonly baseTar: string; readonly walTar: string | null };

/** Reads the `backup_label` of a plain or tar backup folder. */
export async function readBackupLabel(path: string, layout: BackupFormat): Promise<BackupLabel> {
  if (layout.format === 'plain') return parseBackupLabel(await readLabelFile(join(path, 'backup_label'), path), path);
  const gz = layout.baseTar.endsWith('.gz') ? ['-z'] : [];
  const output = await runCommand('tar', [...gz, '-xOf', join(path, layout.baseTar), 'backup_label'], {
    hint: `check that ${layout.baseTar} is a complete tar archive`,
  });
  return parseBackupLabel(output.stdout, path);
}

/** pg_basebackup writes a few hundred bytes; a backup is untrusted, so more is not read. */
const MAX_LABEL_BYTES = 64 * 1024;

/**
 * The text of a plain backup's `backup_label`, read only when it is a regular file of plausible size: a symlink
 * (to a file of this host, or to `/dev/zero`), a FIFO or a huge file is refused in one line instead of being
 * followed, read as root or read forever.
 */
async function readLabelFile(file: string, where: string): Promise<string> {
  const handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK).catch(
    (error: NodeJS.ErrnoException) => {
      if (error.code === 'ELOOP') throw notALabel(where, 'is a symlink');
      throw error;
    },
  );
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw notALabel(where, 'is not a regular file');
    if (stats.size > MAX_LABEL_BYTES)
      throw notALabel(where, `is ${stats.size} bytes (pg_basebackup writes a few hundred)`);
    return await handle.readFile('utf8');
  } finally {
    await handle.close();
  }
}

function notALabel(where: string, what: string): ConfigError {
  return new ConfigError(
    `${where} is not a base backup as pg_basebackup writes one: its backup_label ${what}`,
    'give the folder pg_basebackup wrote',
  );
}
