// The pgBackRest source: implements `Source` (../source.ts) for the backup sets of one stanza, as
// `pgbackrest info --output=json` lists them (full, diff, incr; their WAL range, size, encryption). A recovery
// point is one backup set; the moment it is restored to is the source's `target`, reached by replaying the
// stanza's WAL archive.

import { mkdtemp } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ConfigError } from '../../errors.ts';
import { describeTarget, type PgBackRestRestorable, type RecoveryTarget } from '../../model/physical-backup.ts';
import type { RecoveryPoint } from '../../model/recovery-point.ts';
import type { Source, SourceContext } from '../source.ts';
import { pgbackrest, type PgBackRestRepo } from './pgbackrest-command.ts';
import { backupsReaching } from '../reachable-backups.ts';

/** Options of {@link pgBackRestSource}. */
export interface PgBackRestSourceConfig extends PgBackRestRepo {
  /** The database the drill verifies; a physical backup holds the whole cluster. */
  readonly database: string;
  /** The moment to restore to (default `latest`: the end of the stanza's archive). */
  readonly target?: RecoveryTarget;
}

/** The part of `pgbackrest info --output=json` this source reads. */
interface StanzaInfo {
  readonly name: string;
  readonly status: { readonly code: number; readonly message: string };
  readonly cipher?: string;
  readonly repo?: ReadonlyArray<{ readonly status: { readonly code: number; readonly message: string } }>;
  readonly db?: ReadonlyArray<{ readonly id: number; readonly version: string; readonly 'system-id': number }>;
  readonly archive?: ReadonlyArray<{
    readonly database: { readonly id: number };
    readonly min: string | null;
    readonly max: string | null;
  }>;
  readonly backup?: ReadonlyArray<{
    readonly label: string;
    readonly type: string;
    readonly error?: boolean;
    readonly database: { readonly id: number };
    readonly archive: { readonly start: string; readonly stop: string };
    readonly lsn?: { readonly start: string; readonly stop: string };
    readonly timestamp: { readonly start: number; readonly stop: number };
    readonly info: { readonly size: number; readonly repository: { readonly size: number } };
    readonly prior: string | null;
  }>;
}

/**
 * The backup sets of a pgBackRest stanza, restored with `pgbackrest restore` and replayed to a moment. The
 * repository's cipher pass comes from its config or `PGBACKREST_REPO1_CIPHER_PASS`, never from arguments.
 *
 * @example
 * drill('shop, any moment of the last day', {
 *   source: pgBackRestSource({ stanza: 'shop', database: 'shop', target: { type: 'time', time: someMoment } }),
 * }, async ({ db }) => { … });
 */
export function pgBackRestSource(config: PgBackRestSourceConfig): Source<PgBackRestRestorable> {
  const target = config.target ?? { type: 'latest' };
  // pgBackRest reads a relative path as one under / (not the working directory): a drill's relative one is resolved here.
  const repo: PgBackRestRepo = {
    stanza: config.stanza,
    ...(config.config ? { config: resolve(config.config) } : {}),
    ...(config.repo ? { repo: resolve(config.repo) } : {}),
  };
  return {
    kind: 'pgbackrest',
    pointInTime: true,
    describe: (picked) =>
      `pgBackRest stanza ${config.stanza}${config.repo ? ` in ${config.repo}` : ''}, to ${describeTarget(picked ?? target)}`,
    async list(context: SourceContext): Promise<RecoveryPoint[]> {
      const lockPath = await mkdtemp(join(context.workDir, 'pgbackrest-lock-'));
      const text = await pgbackrest(repo, 'info', ['--output=json'], {
        lockPath,
        ...(context.signal ? { signal: context.signal } : {}),
      });
      const stanza = parseInfo(text, config.stanza).find((s) => s.name === config.stanza);
      if (stanza && stanza.status.code !== 0 && undecryptable(stanza)) throw wrongCipherPass(config.stanza);
      if (!stanza || stanza.status.code !== 0) {
        throw new ConfigError(
          `pgBackRest stanza "${config.stanza}" cannot be used: ${stanza?.status.message ?? 'not in pgbackrest info'}`,
          'check the stanza name and the repository (config, repo1-path); create it with pgbackrest stanza-create',
        );
      }
      const points = (stanza.backup ?? [])
        .filter((backup) => !backup.error)
        .map((backup): RecoveryPoint => {
          const db = stanza.db?.find((d) => d.id === backup.database.id);
          const archive = stanza.archive?.find((a) => a.database.id === backup.database.id);
          return {
            source: 'pgbackrest',
            id: `${config.stanza}/${backup.label}`,
            // Consistent from the moment the backup stopped: no earlier moment can be restored from it.
            createdAt: new Date(backup.timestamp.stop * 1000),
            createdAtBasis: 'pgbackrest info backup stop time',
            facts: {
              stanza: config.stanza,
              set: backup.label,
              type: backup.type,
              prior: backup.prior,
              serverMajor: Number(db?.version),
              systemId: db ? String(db['system-id']) : null,
              walStart: backup.archive.start,
              walStop: backup.archive.stop,
              archiveMax: archive?.max ?? null,
              lsnStart: backup.lsn?.start ?? null,
              lsnStop: backup.lsn?.stop ?? null,
              sizeBytes: backup.info.size,
              repositoryBytes: backup.info.repository.size,
              encrypted: (stanza.cipher ?? 'none') !== 'none',
              cipher: stanza.cipher ?? 'none',
              target: describeTarget(target),
            },
          };
        });
      const reachable = backupsReaching(points, target, {
        of: `backup of stanza "${config.stanza}"`,
        since: 'consistent from',
      });
      context.log(`locate: ${reachable.length} backup set(s) of stanza ${config.stanza}`);
      return reachable;
    },
    fetch(point: RecoveryPoint): Promise<PgBackRestRestorable> {
      if (!point.facts.archiveMax)
        return Promise.reject(
          new ConfigError(
            `stanza "${config.stanza}" has no archived WAL for backup ${String(point.facts.set)}`,
            'check archive_command (pgbackrest archive-push)',
          ),
        );
      return Promise.resolve({
        kind: 'pgbackrest',
        ...repo,
        set: String(point.facts.set),
        archiveStart: String(point.facts.walStart),
        archiveMax: String(point.facts.archiveMax),
        ...(point.facts.lsnStop ? { stopLsn: String(point.facts.lsnStop) } : {}),
        database: config.database,
        target,
        major: Number(point.facts.serverMajor),
      });
    },
  };
}

/** `pgbackrest info --output=json`; unreadable output (what a wrong cipher pass yields) is a ConfigError. */
function parseInfo(text: string, stanza: string): StanzaInfo[] {
  try {
    return JSON.parse(text) as StanzaInfo[];
  } catch {
    throw wrongCipherPass(stanza, 'pgbackrest info printed something that is not its JSON');
  }
}

/**
 * An encrypted stanza whose info files load as garbage: what a wrong cipher pass yields when the garbage
 * happens to fit in JSON (else {@link parseInfo} sees it). pgBackRest then says only "other" for the stanza.
 */
function undecryptable(stanza: StanzaInfo): boolean {
  return (
    (stanza.cipher ?? 'none') !== 'none' &&
    (stanza.repo ?? []).some((r) => /^\[(FormatError|CryptoError)\] unable to load info file/.test(r.status.message))
  );
}

function wrongCipherPass(stanza: string, what = 'its encrypted info files do not decrypt to text'): ConfigError {
  return new ConfigError(
    `pgBackRest stanza "${stanza}" cannot be read: ${what}: the repository's cipher pass is likely wrong`,
    'check PGBACKREST_REPO1_CIPHER_PASS (or repo1-cipher-pass in the config)',
  );
}
