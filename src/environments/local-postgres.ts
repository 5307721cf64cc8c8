import { randomBytes } from 'node:crypto';
import { chmod, chown, mkdtemp, readFile, rm, writeFile, appendFile } from 'node:fs/promises';
import { availableParallelism, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { ConfigError, RestoreDrillError } from '../errors.ts';
import { findPgBinaries, SERVER_TOOLS, type PgBinaries } from '../postgres/pg-binaries.ts';
import { labelDisposableDatabase } from '../postgres/disposable-database.ts';
import { pgRestore } from '../postgres/pg-restore.ts';
import { serverOsUser } from '../postgres/os-user.ts';
import { runCommand, type OsUser } from '../postgres/run-command.ts';
import { isPgDump, type Restorable } from '../sources/source.ts';
import { freePort } from '../util/free-port.ts';
import { registerSecret } from '../util/redact.ts';
import type { Environment, EnvironmentContext, RestoreOptions, StartedEnvironment } from './environment.ts';
import { copyClusterTemplate, templateCacheDir } from './cluster-template.ts';
import { RESOURCE_PREFIX, type ResourceLabel } from './labels.ts';
import { startReaper } from './reaper.ts';

/** Name of the label file inside every local cluster directory. */
export const LABEL_FILE = 'restore-drill.json';

/** Options of the {@link localPostgres} environment. All optional. */
export interface LocalPostgresConfig {
  /** Folder with `initdb`, `pg_ctl`, `postgres` (default: found like {@link findPgBinaries}). */
  readonly binDir?: string;
  /** Extra server settings, applied after the restore-speed defaults. */
  readonly settings?: Readonly<Record<string, string | number | boolean>>;
  /** Parent folder of the cluster's temp dir (default: the OS temp dir). */
  readonly parentDir?: string;
  /**
   * `restore` (default): the restore-speed settings of {@link restoreTuning}. `none`: PostgreSQL's own
   * defaults (only the listening address and authentication are set) — what a hand-made restore gets, for
   * benchmarks that compare the two.
   */
  readonly tuning?: 'restore' | 'none';
  /**
   * Copy a cached data directory made by `initdb` once per PostgreSQL version (in
   * `RESTORE_DRILL_CACHE_DIR`, default `<temp dir>/restore-drill.cache-<uid>`) instead of running `initdb` for
   * every cluster (default true). Each copy gets its own password before it starts.
   */
  readonly template?: boolean;
}

/**
 * The embedded default environment: a throw-away PostgreSQL cluster made with `initdb` in a fresh temp
 * dir, listening on a free 127.0.0.1 port with a password made for this run, tuned for restore speed
 * (no fsync, minimal WAL), started as an unprivileged user when running as root, and deleted afterwards
 * in every outcome — a watchdog removes it even if the process is killed.
 *
 * @example
 * drill('orders restore', { source: fileSource('backups/'), environment: localPostgres() }, …);
 */
export function localPostgres(config: LocalPostgresConfig = {}): Environment {
  return {
    kind: 'local-postgres',
    start: (context) => startLocalPostgres(config, context),
  };
}

// Not "restore_drill": with search_path "$user", public that would put the restore_drill schema first.
const SUPERUSER = 'restore_drill_superuser';
const DATABASE = 'restored';
const INITDB_ARGS = ['--auth=scram-sha-256', '-E', 'UTF8', '--locale=C', '--no-sync', '--no-instructions'];

/** How every cluster listens and logs: only on 127.0.0.1, on its own port, no Unix socket. */
function connectionSettings(port: number): Record<string, string | number | boolean> {
  return {
    listen_addresses: '127.0.0.1',
    port,
    unix_socket_directories: '',
    logging_collector: false,
    log_min_messages: 'warning',
    password_encryption: 'scram-sha-256',
  };
}

/**
 * Server settings for a fast restore into a cluster that is thrown away afterwards (docs/performance.md has
 * the measurements behind them).
 */
export function restoreTuning(): Record<string, string | number | boolean> {
  const cores = availableParallelism();
  const mb = Math.floor(totalmem() / 1024 / 1024);
  return {
    // Non-durable on purpose: the cluster is thrown away, so crash safety only costs restore time.
    fsync: false,
    synchronous_commit: false,
    full_page_writes: false,
    wal_level: 'minimal',
    max_wal_senders: 0,
    archive_mode: false,
    autovacuum: false,
    checkpoint_timeout: '1h',
    max_wal_size: '8GB',
    shared_buffers: `${Math.min(1024, Math.max(128, Math.floor(mb / 16)))}MB`,
    maintenance_work_mem: `${Math.min(1024, Math.max(64, Math.floor(mb / 32)))}MB`,
    work_mem: '64MB',
    max_worker_processes: Math.max(8, cores * 2),
    max_parallel_workers: Math.max(2, cores),
    max_parallel_workers_per_gather: Math.max(1, cores),
    max_parallel_maintenance_workers: Math.max(1, cores),
    jit: false,
  };
}

function confValue(value: string | number | boolean): string {
  if (typeof value === 'boolean') return value ? 'on' : 'off';
  if (typeof value === 'number') return String(value);
  return `'${value.replace(/'/g, "''")}'`;
}

async function startLocalPostgres(config: LocalPostgresConfig, context: EnvironmentContext): Promise<StartedEnvironment> {
  const bins = config.binDir
    ? withBinDir(config.binDir)
    : findPgBinaries({ tools: [...SERVER_TOOLS, 'pg_restore'] });
  const user = serverOsUser();
  const dir = await mkdtemp(join(config.parentDir ?? tmpdir(), `${RESOURCE_PREFIX}${context.runId}-`));
  const label: ResourceLabel = {
    tool: 'restore-drill',
    kind: 'local-postgres',
    runId: context.runId,
    drillName: context.drillName,
    ownerPid: process.pid,
    createdAt: new Date().toISOString(),
  };
  await writeFile(join(dir, LABEL_FILE), JSON.stringify(label, null, 2), { mode: 0o644 }); // cleanup trusts no writable label
  startReaper(process.pid, dir);
  const started = new StartedLocalPostgres(bins, user, dir, randomBytes(24).toString('base64url'), context.runId);
  try {
    await started.init(config, context);
    return started;
  } catch (error) {
    await started.stop();
    throw error;
  }
}

function withBinDir(binDir: string): PgBinaries {
  const previous = process.env.RESTORE_DRILL_PG_BIN;
  process.env.RESTORE_DRILL_PG_BIN = binDir;
  try {
    return findPgBinaries({ tools: [...SERVER_TOOLS, 'pg_restore'] });
  } finally {
    if (previous === undefined) delete process.env.RESTORE_DRILL_PG_BIN;
    else process.env.RESTORE_DRILL_PG_BIN = previous;
  }
}

class StartedLocalPostgres implements StartedEnvironment {
  readonly kind = 'local-postgres';
  readonly database = DATABASE;
  version = '';
  private port = 0;
  private stopped = false;

  constructor(
    private readonly bins: PgBinaries,
    private readonly user: OsUser | null,
    /** The cluster's private temp dir; `data/` inside holds PGDATA. */
    readonly dir: string,
    private readonly password: string,
    readonly runId: string,
  ) {
    registerSecret(password);
  }

  private get dataDir(): string {
    return join(this.dir, 'data');
  }

  async init(config: LocalPostgresConfig, context: EnvironmentContext): Promise<void> {
    const { signal, log } = context;
    if (this.user) {
      await chownTree(this.dir, this.user);
      await runCommand('test', ['-w', this.dir], { user: this.user, cwd: '/' }).catch(() => {
        throw new ConfigError(
          `PostgreSQL runs as user ${this.user!.name} (not root), who cannot reach ${this.dir}`,
          'choose a parent folder every user can traverse (chmod o+x on each folder above it), e.g. the OS temp dir',
        );
      });
    }
    const templated = config.template !== false && (await this.fromTemplate(context));
    if (!templated) {
      log(`provision: initdb ${this.bins.version} in ${this.dir}${this.user ? ` as user ${this.user.name}` : ''}`);
      const pwfile = join(this.dir, 'pwfile');
      await writeFile(pwfile, this.password, { mode: 0o600 });
      if (this.user) await chown(pwfile, this.user.uid, this.user.gid);
      await runCommand(this.bins.path('initdb'), ['-D', this.dataDir, '-U', SUPERUSER, `--pwfile=${pwfile}`, ...INITDB_ARGS], {
        user: this.user,
        signal,
        cwd: this.dir,
        hint: 'check that the PostgreSQL server binaries work and the temp dir is writable',
      });
      await rm(pwfile, { force: true });
    }
    // A free port can be taken between asking and binding (parallel drills): retry with a new one.
    for (let attempt = 1; ; attempt++) {
      this.port = await freePort();
      const tuning = config.tuning === 'none' ? {} : restoreTuning();
      const settings = { ...tuning, ...connectionSettings(this.port), ...config.settings };
      const conf = Object.entries(settings).map(([k, v]) => `${k} = ${confValue(v)}`).join('\n');
      await appendFile(join(this.dataDir, 'postgresql.conf'), `\n# restore-drill: disposable cluster of run ${this.runId}\n${conf}\n`);
      try {
        await runCommand(
          this.bins.path('pg_ctl'),
          ['start', '-D', this.dataDir, '-l', join(this.dir, 'server.log'), '-w', '-t', '120', '-s'],
          { user: this.user, signal, cwd: this.dir },
        );
        break;
      } catch (error) {
        const serverLog = await readFile(join(this.dir, 'server.log'), 'utf8').catch(() => '');
        if (attempt < 5 && /could not bind|Address already in use/i.test(serverLog)) continue;
        const reason = serverLog.trim().split('\n').slice(-3).join(' / ');
        throw new RestoreDrillError(`local PostgreSQL did not start: ${reason || (error as Error).message}`, `see ${join(this.dir, 'server.log')}`);
      }
    }
    const client = new pg.Client(this.connectionConfig('postgres'));
    await client.connect();
    try {
      this.version = (await client.query<{ v: string }>("select current_setting('server_version') as v")).rows[0]!.v.split(' ')[0]!;
      if (!templated) await client.query(`create database ${DATABASE}`); // a template copy has it
      await labelDisposableDatabase(client, DATABASE, this.runId);
    } finally {
      await client.end();
    }
    log(`provision: PostgreSQL ${this.version} listening on 127.0.0.1:${this.port}`);
  }

  /** Copies the cached initdb template; false (and why, in the log) when none can be used. */
  private async fromTemplate({ signal, log }: EnvironmentContext): Promise<boolean> {
    const init = { bins: this.bins, user: this.user, superuser: SUPERUSER, initdbArgs: INITDB_ARGS, database: DATABASE, signal };
    try {
      log(`provision: copy of the initdb template in ${templateCacheDir(this.user)} into ${this.dir}${this.user ? ` as user ${this.user.name}` : ''}`);
      const problem = await copyClusterTemplate(init, this.dataDir, this.password);
      if (!problem) return true;
      log(`provision: not using a cached initdb template (${problem})`);
    } catch (error) {
      if (signal?.aborted) throw error;
      log(`provision: the cached initdb template did not work (${(error as Error).message.split('\n')[0]}); running initdb`);
    }
    await rm(this.dataDir, { recursive: true, force: true });
    return false;
  }

  connectionConfig(database: string = this.database): pg.ClientConfig {
    return { host: '127.0.0.1', port: this.port, user: SUPERUSER, password: this.password, database };
  }

  libpqEnv(database: string = this.database): Record<string, string> {
    return {
      PGHOST: '127.0.0.1',
      PGPORT: String(this.port),
      PGUSER: SUPERUSER,
      PGPASSWORD: this.password,
      PGDATABASE: database,
      PGSSLMODE: 'disable',
    };
  }

  async restore(restorable: Restorable, options: RestoreOptions): Promise<void> {
    if (!isPgDump(restorable)) {
      throw new ConfigError(
        `the local-postgres environment cannot restore a ${restorable.kind} recovery point`,
        'pair this source with an environment that can (e.g. rdsInstance() for RDS snapshots)',
      );
    }
    await pgRestore(this, restorable.dump, options);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    try {
      await runCommand(this.bins.path('pg_ctl'), ['stop', '-D', this.dataDir, '-m', 'immediate', '-w', '-t', '30', '-s'], {
        user: this.user,
        cwd: this.dir,
      });
    } catch {
      // Not started, or already gone: the directory removal below is what matters.
      await killPostmaster(this.dataDir);
    }
    await rm(this.dir, { recursive: true, force: true });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

/** Kills the postmaster of a data dir, but only if its command line names that data dir. */
export async function killPostmaster(dataDir: string): Promise<boolean> {
  const pid = Number((await readFile(join(dataDir, 'postmaster.pid'), 'utf8').catch(() => '')).split('\n')[0]);
  if (!pid) return false;
  const cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).replace(/\0/g, ' ');
  if (!cmdline.includes(dataDir)) return false;
  try {
    process.kill(pid, 'SIGQUIT');
  } catch {
    return false;
  }
  for (let i = 0; i < 50; i++) {
    await new Promise((r) => setTimeout(r, 100));
    try {
      process.kill(pid, 0);
    } catch {
      return true;
    }
  }
  process.kill(pid, 'SIGKILL');
  return true;
}

async function chownTree(dir: string, user: OsUser): Promise<void> {
  await chown(dir, user.uid, user.gid);
  await chmod(dir, 0o700);
  // The label stays root's: cleanup trusts only a label the server's account could not have written.
}
