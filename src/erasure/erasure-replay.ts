// GDPR erasure replay: a restore brings back the people erased since the backup was taken. After the restore
// the drill reads the production erasure ledger (erasure-ledger.ts), re-applies each erasure to the restored
// copy with the drill's own `apply`, and proves with `subjects` that none of them remains. Subject ids appear
// only as salted hashes (subject-hash.ts).

import pg from 'pg';
import { ConfigError } from '../errors.ts';
import type { CheckResult } from '../model/report.ts';
import { parseDuration, type DurationString } from '../util/duration.ts';
import { mapLimit } from '../util/map-limit.ts';
import { describeLedger, readErasureLedger, type ErasureLedger, type ErasureRequest } from './erasure-ledger.ts';
import { scrubSubjects, subjectHasher } from './subject-hash.ts';

/** Hashes named in a detail before the rest is only counted. */
const SHOWN = 5;

/** Options of {@link erasureReplay}. */
export interface ErasureReplayOptions {
  /** Where the erasure requests come from (production query through a read-only connection, a CSV file, an S3 object). */
  readonly ledger: ErasureLedger;
  /**
   * How to erase one subject in the restored copy: SQL with `$1` = the subject id (e.g.
   * `delete from customers where id = $1`), or a function. All requests are applied in one transaction.
   */
  readonly apply: string | ((db: pg.ClientBase, request: ErasureRequest) => Promise<unknown>);
  /**
   * Whether a subject is still there: SQL with `$1` = the subject id that returns a row while anything of the
   * subject remains (e.g. `select 1 from customers where id = $1 union all select 1 from orders where customer_id = $1`),
   * or a function returning true while it remains.
   */
  readonly subjects: string | ((db: pg.ClientBase, subjectId: string) => Promise<boolean>);
  /**
   * How long an erasure may take to reach the backups (the retention of backups with customer data), default `30d`:
   * a subject erased longer than this before the recovery point, yet present in it, fails the check
   * `erasure reached the backups`.
   */
  readonly within?: DurationString;
  /** Salt of the subject hashes; default `$RESTORE_DRILL_ERASURE_SALT`, else random per run. */
  readonly salt?: string;
  /** How many `subjects` queries run at once, each on its own connection to the restored copy; default 4. */
  readonly concurrency?: number;
}

/** An erasure replay to run on the restored database ({@link runErasureReplay}). */
export interface ErasureReplay extends ErasureReplayOptions {
  readonly kind: 'erasure-replay';
}

/**
 * A GDPR erasure replay for a drill: after the restore, read the production erasure ledger, apply each erasure to
 * the restored copy, and prove that none of the erased subjects remains.
 *
 * @example
 * erasureReplay({
 *   ledger: { query: 'select subject_id, erased_at from gdpr.erasures', urlEnv: 'PROD_DATABASE_URL' },
 *   apply: 'delete from customers where id = $1::int',
 *   subjects: 'select 1 from customers where id = $1::int',
 * });
 */
export function erasureReplay(options: ErasureReplayOptions): ErasureReplay {
  if (!options.ledger || !options.apply || !options.subjects)
    throw new ConfigError('erasureReplay needs ledger, apply and subjects', 'see the erasure drill in the README');
  if (options.within) parseDuration(options.within, 'erasureReplay within');
  if (options.concurrency !== undefined && !(Number.isInteger(options.concurrency) && options.concurrency >= 1))
    throw new ConfigError(
      `erasureReplay concurrency must be a whole number of at least 1, not ${String(options.concurrency)}`,
      'e.g. concurrency: 4',
    );
  return { kind: 'erasure-replay', ...options };
}

/**
 * Runs the replay on the restored database `db` and returns its checks:
 * - `erasure reached the backups`: no subject erased more than `within` before the recovery point is in the
 *   restored copy (those erased since are expected there, and counted as brought back);
 * - `erasure replay`: after applying every erasure (one transaction; an `apply` that fails half-way rolls it
 *   back and fails the check), no erased subject remains.
 * Subjects the backup never held are fine, and counted. Only salted hashes of subject ids are reported.
 * Given the restored copy's `connection`, the `subjects` queries run `concurrency` at a time on connections
 * of their own (read-only); without it, one after another on `db`.
 *
 * @example
 * const checks = await runErasureReplay(replay, db, { recoveryPointAt: recoveryPoint.createdAt });
 */
export async function runErasureReplay(
  replay: ErasureReplay,
  db: pg.ClientBase,
  context: { recoveryPointAt: Date; log?: (line: string) => void; connection?: pg.ClientConfig },
): Promise<CheckResult[]> {
  const hash = subjectHasher(replay.salt);
  const requests = await readErasureLedger(replay.ledger);
  const ids = [...new Set(requests.map((r) => r.subjectId))];
  const scrub = (text: string) => scrubSubjects(text, ids, hash);
  const remains = async (client: pg.ClientBase, id: string): Promise<boolean> => {
    try {
      return typeof replay.subjects === 'string'
        ? ((await client.query(replay.subjects, [id])).rowCount ?? 0) > 0
        : await replay.subjects(client, id);
    } catch (error) {
      // PostgreSQL quotes the offending value in its messages: the subject id must not reach the report.
      throw new ConfigError(
        `erasure replay: the subjects check failed: ${scrub((error as Error).message)}`,
        'fix the subjects query (it gets the subject id as $1)',
      );
    }
  };
  // Which of `list` remain: a round trip per subject, so a long ledger is checked a few at a time, each on a
  // read-only session of its own (the drill author's queries run in the database's own settings).
  const whichRemain = async (list: readonly string[]): Promise<string[]> => {
    const size = context.connection ? Math.min(replay.concurrency ?? 4, list.length) : 0;
    const sessions: pg.Client[] = [];
    try {
      for (let i = 0; i < size; i++) {
        const session = new pg.Client(context.connection);
        session.on('error', () => {});
        sessions.push(session);
        await session.connect();
        await session.query('set default_transaction_read_only = on');
      }
      const idle = [...sessions];
      const found = await mapLimit(list, Math.max(1, size), async (id) => {
        const session = idle.pop();
        try {
          return await remains(session ?? db, id);
        } finally {
          if (session) idle.push(session);
        }
      });
      return list.filter((_, i) => found[i]);
    } finally {
      await Promise.all(sessions.map((session) => session.end().catch(() => {})));
    }
  };
  const source = describeLedger(replay.ledger);
  const salt = hash.saltKind === 'given' ? 'salted with the given salt' : 'salted per run (salt not recorded)';
  const cutoff =
    context.recoveryPointAt.getTime() - parseDuration(replay.within ?? '30d', 'erasureReplay within') * 1000;

  // Newest erasure per subject: a subject erased twice counts once.
  const latest = new Map<string, ErasureRequest>();
  for (const r of requests)
    if ((latest.get(r.subjectId)?.erasedAt.getTime() ?? -Infinity) < r.erasedAt.getTime()) latest.set(r.subjectId, r);
  const present = await whichRemain(ids);
  const overdue = present.filter((id) => latest.get(id)!.erasedAt.getTime() < cutoff);
  const reached: CheckResult = {
    name: `erasure reached the backups (${replay.within ?? '30d'})`,
    status: overdue.length === 0 ? 'passed' : 'failed',
    expected: `no subject erased more than ${replay.within ?? '30d'} before the recovery point is in it`,
    actual: `${overdue.length} such subjects`,
    detail: `${ids.length} subjects in the ledger (${source}); ${present.length} in the restored copy before replay, ${ids.length - present.length} unknown to the backup${overdue.length ? `; overdue: ${shown(overdue.map(hash))}` : ''}; ids ${salt}`,
  };

  let applied = 0;
  let failure: string | undefined;
  await db.query('begin');
  try {
    for (const id of present) {
      const request = latest.get(id)!;
      if (typeof replay.apply === 'string') await db.query(replay.apply, [id]);
      else await replay.apply(db, request);
      applied++;
    }
    await db.query('commit');
  } catch (error) {
    await db.query('rollback');
    failure = scrub((error as Error).message);
    applied = 0;
  }
  const remaining = await whichRemain(present);
  context.log?.(
    `erasure replay: ${present.length} erased subjects came back with the restore, ${applied} re-erased, ${remaining.length} remain`,
  );
  const replayed: CheckResult = {
    name: 'erasure replay',
    status: !failure && remaining.length === 0 && ids.length > 0 ? 'passed' : 'failed',
    expected: 'no erased subject remains after the erasures are replayed',
    actual: `${remaining.length} of ${ids.length} remain`,
    detail: [
      `${ids.length} subjects in the ledger, ${present.length} brought back by the restore, ${applied} re-erased`,
      failure ? `apply failed half-way and was rolled back: ${failure}` : undefined,
      remaining.length ? `still present: ${shown(remaining.map(hash))}` : undefined,
      ids.length === 0 ? 'the ledger holds no erasure: nothing was checked' : undefined,
      `ids ${salt}`,
    ]
      .filter(Boolean)
      .join('; '),
  };
  return [reached, replayed];
}

function shown(hashes: readonly string[]): string {
  return hashes.slice(0, SHOWN).join(', ') + (hashes.length > SHOWN ? ` and ${hashes.length - SHOWN} more` : '');
}
