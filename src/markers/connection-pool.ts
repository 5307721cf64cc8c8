import { availableParallelism } from 'node:os';
import pg from 'pg';
import { ConfigError } from '../errors.ts';
import { pinSessionSettings } from './checksum-sql.ts';

/** Options of {@link openConnectionPool}. */
export interface ConnectionPoolOptions {
  /** Number of connections; default min(4, CPU cores). */
  readonly size?: number;
  /**
   * `shared`: the first connection opens a REPEATABLE READ transaction and exports its snapshot, every other
   * connection imports it, so all numbers describe the same committed state. `none`: plain sessions.
   */
  readonly snapshot: 'shared' | 'none';
  /**
   * The first connection's transaction may write (only `restore-drill mark`, to insert the marker row).
   * Every other connection is read-only: `default_transaction_read_only = on`.
   */
  readonly leaderWrites?: boolean;
  /**
   * `SET ROLE` to this role on every connection before anything else: the work runs with that role's rights
   * (e.g. a read-only role that has `pg_read_all_data`), not the login's.
   */
  readonly role?: string;
}

/**
 * A few connections, each with pinned checksum settings, that work through a list of tables in parallel —
 * optionally all inside one snapshot. Close it with `await using` or {@link ConnectionPool.close}.
 */
export interface ConnectionPool extends AsyncDisposable {
  /** The first connection; with `snapshot: 'shared'` it holds the transaction that exported the snapshot. */
  readonly leader: pg.Client;
  /** The exported snapshot's id (`pg_export_snapshot()`), or null with `snapshot: 'none'`. */
  readonly snapshotId: string | null;
  /**
   * Runs `task` for every item, each on whichever connection is free; results keep the items' order.
   * The first failure stops new tasks from starting and is thrown once running ones have finished.
   */
  map<T, R>(items: readonly T[], task: (client: pg.Client, item: T) => Promise<R>): Promise<R[]>;
  /**
   * Runs one task on the next free connection, waiting (first come, first served) while all are busy. Tasks
   * can be added at any time — a comparison adds tables as the restore finishes loading them. A failing task
   * rejects its own promise only. After {@link close}, waiting and new tasks are rejected.
   */
  run<R>(task: (client: pg.Client) => Promise<R>): Promise<R>;
  /** Commits the leader's transaction (when there is one) and closes every connection. */
  commit(): Promise<void>;
  /** Closes every connection; open transactions are rolled back. Safe to call twice. */
  close(): Promise<void>;
}

/** Default pool size: a few connections, no more than the machine has cores to wait on them. */
export function defaultPoolSize(): number {
  return Math.max(1, Math.min(4, availableParallelism()));
}

/**
 * Opens a {@link ConnectionPool}. With `snapshot: 'shared'` every connection runs `BEGIN ISOLATION LEVEL
 * REPEATABLE READ` — the leader exports its snapshot, the others `SET TRANSACTION SNAPSHOT` to it.
 *
 * @example
 * await using pool = await openConnectionPool(config, { snapshot: 'shared' });
 * const counts = await pool.map(tables, (client, table) => countRows(client, table));
 */
export async function openConnectionPool(
  config: pg.ClientConfig,
  options: ConnectionPoolOptions,
): Promise<ConnectionPool> {
  const size = Math.max(1, options.size ?? defaultPoolSize());
  const clients: pg.Client[] = [];
  const pool = new Pool(clients, options.snapshot === 'shared');
  try {
    const leader = await connect(config, clients, !options.leaderWrites, options.role);
    if (options.snapshot === 'shared') {
      await leader.query(`begin isolation level repeatable read ${options.leaderWrites ? 'read write' : 'read only'}`);
      pool.snapshotId = (await leader.query<{ id: string }>('select pg_export_snapshot() as id')).rows[0]!.id;
    }
    await Promise.all(
      Array.from({ length: size - 1 }, async () => {
        const client = await connect(config, clients, true, options.role);
        if (pool.snapshotId) {
          // SET TRANSACTION SNAPSHOT takes no parameters, hence the escaped literal; it must come first.
          await client.query(
            `begin isolation level repeatable read read only; set transaction snapshot ${pg.escapeLiteral(pool.snapshotId)}`,
          );
        }
      }),
    );
    return pool;
  } catch (error) {
    await pool.close();
    throw error;
  }
}

async function connect(
  config: pg.ClientConfig,
  clients: pg.Client[],
  readOnly: boolean,
  role: string | undefined,
): Promise<pg.Client> {
  const client = new pg.Client(config);
  // A connection that dies while idle emits 'error'; without a listener that would crash the process.
  // The next query on it fails and reports the problem instead.
  client.on('error', () => {});
  clients.push(client);
  await client.connect();
  if (role !== undefined) await setRole(client, role);
  await pinSessionSettings(client);
  // The leader of a dump stays idle in its transaction until pg_dump finishes: a server-side idle timeout
  // must not end it.
  await client.query('set idle_in_transaction_session_timeout = 0');
  if (readOnly) await client.query('set default_transaction_read_only = on');
  return client;
}

/**
 * `SET ROLE` on a connection; a role that does not exist or that the login may not become is a
 * {@link ConfigError} saying so.
 */
export async function setRole(client: pg.ClientBase, role: string): Promise<void> {
  try {
    await client.query(`set role ${pg.escapeIdentifier(role)}`);
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === '22023' || code === '42704' || code === '42501') {
      throw new ConfigError(
        `cannot SET ROLE ${role}: ${(error as Error).message}`,
        `create the role and GRANT ${role} TO the login user of the URL (see docs/markers.md)`,
      );
    }
    throw error;
  }
}

class Pool implements ConnectionPool {
  snapshotId: string | null = null;
  private closed = false;
  /** Connections not running a {@link run} task; filled on first use (map() does not take part). */
  private idle: pg.Client[] | undefined;
  private readonly waiting: Array<{ start: (client: pg.Client) => void; fail: (error: Error) => void }> = [];

  constructor(
    private readonly clients: pg.Client[],
    private readonly inTransaction: boolean,
  ) {}

  get leader(): pg.Client {
    return this.clients[0]!;
  }

  async map<T, R>(items: readonly T[], task: (client: pg.Client, item: T) => Promise<R>): Promise<R[]> {
    const results = new Array<R>(items.length);
    let next = 0;
    let failure: { error: unknown } | undefined;
    await Promise.all(
      this.clients.map(async (client) => {
        while (!failure && next < items.length) {
          const index = next++;
          try {
            results[index] = await task(client, items[index]!);
          } catch (error) {
            failure ??= { error };
          }
        }
      }),
    );
    if (failure) throw failure.error;
    return results;
  }

  async run<R>(task: (client: pg.Client) => Promise<R>): Promise<R> {
    if (this.closed) throw new Error('the connection pool is closed');
    this.idle ??= [...this.clients];
    const client =
      this.idle.pop() ?? (await new Promise<pg.Client>((start, fail) => this.waiting.push({ start, fail })));
    try {
      return await task(client);
    } finally {
      const next = this.waiting.shift();
      if (next) next.start(client);
      else this.idle.push(client);
    }
  }

  async commit(): Promise<void> {
    if (this.inTransaction) await this.leader.query('commit');
    await this.close();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const waiter of this.waiting.splice(0)) waiter.fail(new Error('the connection pool is closed'));
    await Promise.all(this.clients.map((client) => client.end().catch(() => {})));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
