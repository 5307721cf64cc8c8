// Test support for physical backups: a "production" cluster that archives its WAL into a folder (and, when
// asked, into a pgBackRest stanza on local paths), takes pg_basebackup and pgBackRest backups, and commits rows
// one transaction each, remembering each commit's exact time.
import { chmod, chown, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { StartedEnvironment } from '../../environments/environment.ts';
import { newRunId } from '../../environments/labels.ts';
import { localPostgres } from '../../environments/local/local-postgres.ts';
import { serverOsUser } from '../../postgres/os-user.ts';
import { findPgBinaries } from '../../postgres/pg-binaries.ts';
import { runCommand } from '../../postgres/run-command.ts';

/** One committed row: its commit time as PostgreSQL prints it in UTC (microseconds) and as a Date (ms). */
export interface Commit {
  readonly id: number;
  readonly text: string;
  readonly at: Date;
  readonly xid: string;
}

/** A started archiving cluster with database `shop` and table `events (id, note)`. */
export interface ArchivingCluster extends AsyncDisposable {
  readonly env: StartedEnvironment;
  /** A private folder (removed on stop) the cluster's server user can pass through. */
  readonly work: string;
  /** The WAL archive folder archive_command copies into. */
  readonly archive: string;
  query<T>(database: string, text: string): Promise<T[]>;
  /** `pg_basebackup -X none` into `into`, plain (`p`) or tar (`t`). */
  basebackup(into: string, format: 'p' | 't'): Promise<void>;
  /** Inserts row `id` in its own transaction; commits are at least 3 ms apart, so a Date fits between two. */
  commit(id: number): Promise<Commit>;
  /**
   * Freezes every database, stops the server and moves its next transaction id to `nextXid` (32-bit) in
   * `epoch` with pg_resetwal, then starts it again: a cluster a few transactions from the 32-bit wrap.
   */
  resetXid(nextXid: number, epoch: number): Promise<void>;
  /** Switches to a new WAL segment and waits until the finished one is archived. */
  switchAndArchive(): Promise<void>;
  /** The pgBackRest stanza the cluster also archives into, when started with `pgBackRest`. */
  readonly pgBackRest?: PgBackRestStanza;
  stop(): Promise<void>;
}

/** A pgBackRest stanza on local paths that the archiving cluster pushes its WAL to. */
export interface PgBackRestStanza {
  readonly stanza: string;
  /** The repository folder (`repo1-path`). */
  readonly repo: string;
  /**
   * The drill side's config: the repository, its cipher type and (unless `cipherPassInConfig` was false) its
   * pass; no `pg1-path`, which the restore gives pgBackRest itself.
   */
  readonly drillConfig: string;
  /** `pgbackrest backup` of the given type, as the server's OS user. */
  backup(type: 'full' | 'diff' | 'incr'): Promise<void>;
  /** `pgbackrest check`: switches WAL and waits until the finished segment is in the repository. */
  check(): Promise<void>;
}

/** Options of {@link startArchivingCluster}. */
export interface ArchivingClusterOptions {
  /** Also archive into a pgBackRest stanza, created (`stanza-create`) before this returns. */
  readonly pgBackRest?: {
    readonly stanza: string;
    /** The repository's aes-256-cbc pass; none: an unencrypted repository. */
    readonly cipherPass?: string;
    /** Write the pass into the drill config too (default true); false: it comes from the environment. */
    readonly cipherPassInConfig?: boolean;
    /** The repository folder (default: `repo` in the cluster's private folder, removed on stop); kept on stop. */
    readonly repo?: string;
    /** Where the drill config is written (default: `drill.conf` in the cluster's private folder). */
    readonly drillConfig?: string;
  };
  /** Create table `events (id, note)` in `shop` (default true); false: an empty database `shop`. */
  readonly events?: boolean;
  /** More server settings, e.g. `{ autovacuum: false }` so no commit of the server's own lands in the WAL. */
  readonly settings?: Readonly<Record<string, string | number | boolean>>;
}

/** Starts the cluster (unsandboxed: archive_command needs the shell the restore sandbox withholds). */
export async function startArchivingCluster(options: ArchivingClusterOptions = {}): Promise<ArchivingCluster> {
  const work = await mkdtemp(join(tmpdir(), 'restore-drill-physical-test-'));
  await chmod(work, 0o711); // the server user passes through to its archive
  const archive = join(work, 'archive');
  const owner = serverOsUser();
  const pgBackRest = options.pgBackRest;
  const repo = pgBackRest?.repo ?? join(work, 'repo');
  const productionConfig = join(work, 'pgbackrest-production.conf');
  for (const dir of [
    archive,
    ...(pgBackRest ? [repo, join(work, 'pgbackrest-log'), join(work, 'pgbackrest-lock')] : []),
  ]) {
    await mkdir(dir, { mode: 0o700, recursive: true });
    if (owner) await chown(dir, owner.uid, owner.gid);
  }
  const push = pgBackRest
    ? ` && pgbackrest --config=${productionConfig} --stanza=${pgBackRest.stanza} archive-push %p`
    : '';
  const env = await localPostgres({
    sandbox: false,
    settings: {
      wal_level: 'replica',
      archive_mode: true,
      archive_command: `cp %p ${archive}/%f${push}`,
      max_wal_senders: 4,
      track_commit_timestamp: true,
      ...options.settings,
    },
  }).start({ runId: newRunId(), drillName: 'physical production', log: () => {} });
  const query = async <T>(database: string, text: string): Promise<T[]> => {
    const client = new pg.Client(env.connectionConfig(database));
    await client.connect();
    try {
      await client.query("set timezone = 'UTC'");
      return (await client.query(text)).rows as T[];
    } finally {
      await client.end();
    }
  };
  const stop = async () => {
    await env.stop();
    await rm(work, { recursive: true, force: true });
  };
  let stanza: PgBackRestStanza | undefined;
  try {
    await query('postgres', 'create database shop');
    if (options.events !== false) await query('shop', 'create table events (id int primary key, note text)');
    if (pgBackRest) stanza = await createStanza(env, work, repo, productionConfig, pgBackRest, query);
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    env,
    work,
    archive,
    query,
    ...(stanza ? { pgBackRest: stanza } : {}),
    async basebackup(into, format) {
      const bins = findPgBinaries({ tools: ['pg_basebackup'] });
      await runCommand(
        bins.path('pg_basebackup'),
        ['-D', into, `-F${format}`, '-X', 'none', '-c', 'fast', '--no-sync'],
        { env: env.libpqEnv('postgres') },
      );
    },
    async commit(id) {
      await query('shop', 'select pg_sleep(0.003)');
      const xid = (
        await query<{ xid: string }>(
          'shop',
          `insert into events values (${id}, 'row ${id}') returning xmin::text as xid`,
        )
      )[0]!.xid;
      const text = (
        await query<{ t: string }>(
          'shop',
          `select pg_xact_commit_timestamp(xmin)::text as t from events where id = ${id}`,
        )
      )[0]!.t;
      return { id, text, at: new Date(text.replace(' ', 'T').replace(/\+00$/, 'Z')), xid };
    },
    async resetXid(nextXid, epoch) {
      for (const database of ['template1', 'postgres', 'shop']) await query(database, 'vacuum freeze');
      await query('postgres', 'checkpoint');
      const dataDir = (await query<{ d: string }>('postgres', "select current_setting('data_directory') as d"))[0]!.d;
      // The server's own controls, private to the environment: a test kit may reach them.
      const server = env as unknown as {
        stopServer(): Promise<void>;
        startServer(signal?: AbortSignal): Promise<void>;
      };
      await server.stopServer();
      const bins = findPgBinaries({ tools: ['pg_resetwal'] });
      const oldest = nextXid - 1_000_000; // within 2^31 of the next xid, or the server refuses new ones
      await runCommand(
        bins.path('pg_resetwal'),
        ['-f', '-x', String(nextXid), '-u', String(oldest), '-e', String(epoch), dataDir],
        { user: serverOsUser() },
      );
      // The commit log page of the new xid must exist (pg_resetwal's documentation says so): zeros, i.e. none committed.
      const clog = join(
        dataDir,
        'pg_xact',
        Math.floor(nextXid / 1_048_576)
          .toString(16)
          .toUpperCase()
          .padStart(4, '0'),
      );
      await writeFile(clog, Buffer.alloc(256 * 1024), { flag: 'wx', mode: 0o600 });
      const owner = serverOsUser();
      if (owner) await chown(clog, owner.uid, owner.gid);
      await server.startServer();
    },
    async switchAndArchive() {
      const segment = (await query<{ s: string }>('postgres', 'select pg_walfile_name(pg_switch_wal()) as s'))[0]!.s;
      for (let i = 0; i < 600; i++) {
        if ((await readdir(archive)).includes(segment)) return;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      throw new Error(`segment ${segment} was never archived`);
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

/** Writes pgBackRest's configs (production's and the drill's) and creates the stanza. */
async function createStanza(
  env: StartedEnvironment,
  work: string,
  repo: string,
  productionConfig: string,
  options: NonNullable<ArchivingClusterOptions['pgBackRest']>,
  query: ArchivingCluster['query'],
): Promise<PgBackRestStanza> {
  const owner = serverOsUser();
  const login = env.libpqEnv('postgres');
  const dataDir = (await query<{ d: string }>('postgres', "select current_setting('data_directory') as d"))[0]!.d;
  // The server's own socket folder: the harness's login may go through a link in a folder only it can enter.
  const socketDir = (
    await query<{ s: string }>('postgres', "select split_part(current_setting('unix_socket_directories'), ',', 1) as s")
  )[0]!.s;
  const cipher = options.cipherPass ? `repo1-cipher-type=aes-256-cbc\n` : '';
  const pass = options.cipherPass ? `repo1-cipher-pass=${options.cipherPass}\n` : '';
  await writeFile(
    productionConfig,
    `[global]\nrepo1-path=${repo}\n${cipher}${pass}repo1-retention-full=2\nlog-path=${join(work, 'pgbackrest-log')}\nlock-path=${join(work, 'pgbackrest-lock')}\nlog-level-file=off\nstart-fast=y\n\n[${options.stanza}]\npg1-path=${dataDir}\npg1-socket-path=${socketDir}\npg1-port=${login.PGPORT}\npg1-user=${login.PGUSER}\n`,
    { mode: 0o600 },
  );
  if (owner) await chown(productionConfig, owner.uid, owner.gid);
  const drillConfig = options.drillConfig ?? join(work, 'drill.conf');
  await writeFile(
    drillConfig,
    `[global]\nrepo1-path=${repo}\n${cipher}${options.cipherPassInConfig === false ? '' : pass}`,
    { mode: 0o600 },
  );
  const asServer = { user: owner, env: { PGPASSWORD: login.PGPASSWORD! }, cwd: '/' };
  const run = async (...args: string[]) => {
    await runCommand('pgbackrest', [`--config=${productionConfig}`, `--stanza=${options.stanza}`, ...args], asServer);
  };
  await run('stanza-create');
  return {
    stanza: options.stanza,
    repo,
    drillConfig,
    backup: (type) => run(`--type=${type}`, 'backup'),
    check: () => run('check'),
  };
}

/** A moment strictly between two commits at least 3 ms apart. */
export function between(before: Commit, after: Commit): Date {
  return new Date(before.at.getTime() + Math.max(1, Math.floor((after.at.getTime() - before.at.getTime()) / 2)));
}
