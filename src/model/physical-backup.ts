import type { Restorable } from './recovery-point.ts';

/**
 * Where in the WAL a physical restore stops: the end of the archive (`latest`), the first consistent moment
 * after the base backup (`immediate`), a time, an LSN or a transaction id (inclusive: that transaction's
 * commit is the last one replayed), or a marker's own position (exactly the marker's snapshot).
 *
 * @example
 * const target: RecoveryTarget = { type: 'time', time: new Date('2026-12-01T03:00:00Z') };
 */
export type RecoveryTarget =
  | { readonly type: 'latest' }
  | { readonly type: 'immediate' }
  | { readonly type: 'time'; readonly time: Date }
  | { readonly type: 'lsn'; readonly lsn: string }
  | { readonly type: 'xid'; readonly xid: string }
  /** The newest restore-drill marker's own position in the WAL (`pick: { strategy: 'marker' }`). */
  | { readonly type: 'marker' }
  /** A random moment between `from` and the archive's last commit (`pick: { strategy: 'random', within }`). */
  | { readonly type: 'random'; readonly from: Date };

/** A `pg_basebackup` backup (plain or tar, with its `backup_manifest`) and the WAL archive it replays from. */
export interface BaseBackupRestorable extends Restorable {
  readonly kind: 'base-backup';
  /** The backup's folder: a data directory (`plain`) or `base.tar[.gz]` + `pg_wal.tar[.gz]` (`tar`). */
  readonly path: string;
  readonly format: 'plain' | 'tar';
  /** A folder of archived WAL segments, as `archive_command` wrote them (plain, or `.gz`/`.zst`/`.lz4`). */
  readonly walArchive: string;
  /** Where `walArchive`'s segments came from when it is a download (an `s3://` prefix), for messages. */
  readonly walArchiveOrigin?: string;
  /** The database the drill verifies (a physical backup holds the whole cluster). */
  readonly database: string;
  readonly target: RecoveryTarget;
  /** The backup's PostgreSQL major version (its `PG_VERSION`): a physical restore needs exactly this one. */
  readonly major: number;
}

/** Whether a restorable is a physical base backup. */
export function isBaseBackup(restorable: Restorable): restorable is BaseBackupRestorable {
  return restorable.kind === 'base-backup' && 'walArchive' in restorable;
}

/** One line naming a recovery target, for logs and reports, e.g. `time 2026-12-01T03:00:00.000Z`. */
export function describeTarget(target: RecoveryTarget): string {
  switch (target.type) {
    case 'latest':
      return 'latest (end of the WAL archive)';
    case 'immediate':
      return 'immediate (end of the base backup)';
    case 'time':
      return `time ${target.time.toISOString()}`;
    case 'lsn':
      return `lsn ${target.lsn}`;
    case 'xid':
      return `transaction ${target.xid}`;
    case 'marker':
      return "the newest restore-drill marker's own position in the WAL";
    case 'random':
      return `a random moment between ${target.from.toISOString()} and the WAL archive's last commit`;
  }
}

/** One backup set of a pgBackRest stanza, restored with `pgbackrest restore` and replayed from its archive. */
export interface PgBackRestRestorable extends Restorable {
  readonly kind: 'pgbackrest';
  readonly stanza: string;
  /** The backup set's label, e.g. `20261202-075654F`. */
  readonly set: string;
  /** `pgbackrest.conf` to use (default: pgBackRest's own lookup). */
  readonly config?: string;
  /** `repo1-path` when it is not in the config. */
  readonly repo?: string;
  /** The first WAL segment the backup needs and the newest one archived (from `pgbackrest info`). */
  readonly archiveStart: string;
  readonly archiveMax: string;
  /** Where the backup set is consistent (`pgbackrest info`'s stop LSN): no moment before it can be restored. */
  readonly stopLsn?: string;
  readonly database: string;
  readonly target: RecoveryTarget;
  readonly major: number;
}

/** Whether a restorable is a pgBackRest backup set. */
export function isPgBackRest(restorable: Restorable): restorable is PgBackRestRestorable {
  return restorable.kind === 'pgbackrest' && 'stanza' in restorable;
}

/** One backup of a Barman server, laid down with `barman recover` and replayed from Barman's WAL archive. */
export interface BarmanRestorable extends Restorable {
  readonly kind: 'barman';
  /** The Barman server's name (its section in the Barman configuration). */
  readonly server: string;
  /** The backup's id, e.g. `20261202T180540`. */
  readonly backupId: string;
  /** `barman.conf` to use (default: Barman's own lookup, /etc/barman.conf). */
  readonly config?: string;
  /** The newest WAL segment Barman has archived for the server (the archive's end). */
  readonly lastWal: string;
  /** Where the backup is consistent (`barman show-backup`'s end LSN): no moment before it can be restored. */
  readonly endLsn?: string;
  readonly database: string;
  readonly target: RecoveryTarget;
  readonly major: number;
}

/** Whether a restorable is a Barman backup. */
export function isBarman(restorable: Restorable): restorable is BarmanRestorable {
  return restorable.kind === 'barman' && 'backupId' in restorable;
}

/** The moment a physical restorable is restored to; undefined for anything else (a dump, a snapshot). */
export function physicalTarget(restorable: Restorable): RecoveryTarget | undefined {
  return isBaseBackup(restorable) || isPgBackRest(restorable) || isBarman(restorable) ? restorable.target : undefined;
}
