// The Barman source: implements `Source` (../source.ts) for the backups of one Barman server, as
// `barman list-backups` and `barman show-backup` (JSON) describe them: begin and end time, WAL range, LSNs,
// size. A recovery point is one backup; the moment it is restored to is the source's `target`, reached by
// replaying the server's WAL archive in the restore sandbox (never Barman's own `restore_command`).

import { ConfigError } from '../../errors.ts';
import { describeTarget, type BarmanRestorable, type RecoveryTarget } from '../../model/physical-backup.ts';
import type { RecoveryPoint } from '../../model/recovery-point.ts';
import type { Source, SourceContext } from '../source.ts';
import { barman, type BarmanServer } from './barman-command.ts';
import { backupsReaching } from '../reachable-backups.ts';

/** Options of {@link barmanSource}. */
export interface BarmanSourceConfig extends BarmanServer {
  /** The database the drill verifies; a physical backup holds the whole cluster. */
  readonly database: string;
  /** The moment to restore to (default `latest`: the end of the server's WAL archive). */
  readonly target?: RecoveryTarget;
}

/** The part of `barman -f json show-backup` this source reads. */
interface BackupInfo {
  readonly backup_id: string;
  readonly status: string;
  readonly postgresql_version: number;
  readonly base_backup_information?: {
    readonly begin_time_timestamp: string;
    readonly end_time_timestamp: string;
    readonly begin_wal: string;
    readonly end_wal: string;
    readonly begin_lsn: string;
    readonly end_lsn: string;
    readonly timeline: number;
    readonly disk_usage_bytes: number;
  };
  readonly wal_information?: { readonly last_available: string | null; readonly no_of_files: number };
}

/**
 * The backups of a Barman server, laid down with `barman recover` and replayed to a moment. Pair it with
 * `localPostgres()` of the backup's major version: the WAL Barman archived is staged into the restore sandbox
 * and replayed there by PostgreSQL, after `pg_verifybackup` checked the copy against its manifest.
 *
 * @example
 * drill('shop from Barman, any moment of the last day', {
 *   source: barmanSource({ server: 'shop', config: '/etc/barman.conf', database: 'shop' }),
 *   pick: { strategy: 'random', within: '1d' },
 * }, async ({ db }) => { … });
 */
export function barmanSource(config: BarmanSourceConfig): Source<BarmanRestorable> {
  const target = config.target ?? { type: 'latest' };
  const server: BarmanServer = { server: config.server, ...(config.config ? { config: config.config } : {}) };
  return {
    kind: 'barman',
    pointInTime: true,
    describe: (picked) => `Barman server ${config.server}, to ${describeTarget(picked ?? target)}`,
    async list(context: SourceContext): Promise<RecoveryPoint[]> {
      const signal = context.signal ? { signal: context.signal } : {};
      const listed = parseJson<Record<string, Array<{ backup_id: string; status: string }>>>(
        await barman(server, 'list-backups', [config.server], { json: true, ...signal }),
        'list-backups',
        config.server,
      );
      const ids = (listed[config.server] ?? []).filter((b) => b.status === 'DONE').map((b) => b.backup_id);
      const points: RecoveryPoint[] = [];
      for (const id of ids) {
        const shown = parseJson<Record<string, BackupInfo>>(
          await barman(server, 'show-backup', [config.server, id], { json: true, ...signal }),
          'show-backup',
          config.server,
        );
        const info = shown[config.server];
        const base = info?.base_backup_information;
        if (!info || !base) continue;
        points.push({
          source: 'barman',
          id: `${config.server}/${id}`,
          // Consistent from the moment the backup ended: no earlier moment can be restored from it.
          createdAt: new Date(Number(base.end_time_timestamp) * 1000),
          createdAtBasis: 'barman show-backup end time',
          facts: {
            server: config.server,
            backupId: id,
            serverMajor: Math.floor(info.postgresql_version / 10000),
            beginTime: new Date(Number(base.begin_time_timestamp) * 1000).toISOString(),
            walStart: base.begin_wal,
            walStop: base.end_wal,
            lsnStart: base.begin_lsn,
            lsnStop: base.end_lsn,
            timeline: base.timeline,
            archiveMax: info.wal_information?.last_available ?? null,
            sizeBytes: base.disk_usage_bytes,
            target: describeTarget(target),
          },
        });
      }
      const reachable = backupsReaching(points, target, {
        of: `backup of Barman server "${config.server}"`,
        since: 'consistent from',
      });
      context.log(`locate: ${reachable.length} backup(s) of Barman server ${config.server}`);
      return reachable;
    },
    fetch(point: RecoveryPoint): Promise<BarmanRestorable> {
      if (!point.facts.archiveMax)
        return Promise.reject(
          new ConfigError(
            `Barman server "${config.server}" has no archived WAL for backup ${String(point.facts.backupId)}`,
            'check archive_command (or streaming_archiver) and run barman cron',
          ),
        );
      return Promise.resolve({
        kind: 'barman',
        ...server,
        backupId: String(point.facts.backupId),
        lastWal: String(point.facts.archiveMax),
        ...(point.facts.lsnStop ? { endLsn: String(point.facts.lsnStop) } : {}),
        database: config.database,
        target,
        major: Number(point.facts.serverMajor),
      });
    },
  };
}

function parseJson<T>(text: string, command: string, server: string): T {
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new ConfigError(
      `barman ${command} for server "${server}" printed something that is not JSON`,
      'check the Barman version (3.x prints JSON with -f json) and its configuration',
    );
  }
}
