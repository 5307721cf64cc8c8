// The local environment: implements `Environment` (../environment.ts) with a throwaway PostgreSQL cluster
// started from the installed binaries — `initdb` (or a cached template, cluster-template.ts), a private
// socket directory, the server sandboxed where the machine allows it (sandbox.ts, sandbox-violations.ts),
// and leftovers of crashed runs found and removed by their label (leftovers.ts, reaper.ts). It restores
// `pg-dump` recovery points with `pg_restore`.

import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFile, chmod, chown, mkdir, mkdtemp, open, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import pg from 'pg';
import { ConfigError, InterruptedError, RestoreDrillError } from '../../errors.ts';
import { findPgBinaries, SERVER_TOOLS, type PgBinaries } from '../../postgres/pg-binaries.ts';
import { labelDisposableDatabase } from '../../postgres/disposable-database.ts';
import { pgRestore } from '../pg-restore.ts';
import { restorePhysical } from './physical-restore.ts';
import type { PhysicalCluster } from './physical-cluster.ts';
import { singleUser } from './single-user.ts';
import { ServerIdentity, withRefusedConnections } from '../server-identity.ts';
import { physicalMethodFor } from './physical-methods.ts';
import type { OsUser } from '../../postgres/run-command.ts';
import type { Restorable } from '../../model/recovery-point.ts';
import { walMarkerManifest, type MarkerManifest } from '../../model/marker.ts';
import { registerSecret } from '../../util/redact.ts';
import type {
  Environment,
  EnvironmentContext,
  RestoreOptions,
  SandboxViolations,
  StartedEnvironment,
} from '../environment.ts';
import { copyClusterTemplate, templateCacheDir, type ClusterInit } from './cluster-template.ts';
import { RESOURCE_PREFIX, type ResourceLabel } from '../labels.ts';
import { startReaper } from './reaper.ts';
import { removeOwnTree } from './reaper-remove-tree.ts';
import { restoreTuningFor } from '../restore-tuning.ts';
import { pinSocket } from '../pinned-socket.ts';
import { loginConfig, loginEnv, requirePgDump, type PostgresLogin } from '../started-postgres.ts';
import { makeServerSandbox, runSandboxed, sandboxTools, sandboxWanted, type ServerSandbox } from './sandbox.ts';
import { scanServerLog, SERVER_LOG_SETTINGS } from './sandbox-violations.ts';

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
   * `RESTORE_DRILL_CACHE_DIR`, default `<temp dir>/restore-drill.cache-v2-<uid>`) instead of running `initdb`
   * for every cluster (default true). Each copy gets its own password before it starts.
   */
  readonly template?: boolean;
  /**
   * Run the server in the restore sandbox (default true; `RESTORE_DRILL_SANDBOX=off` also turns it off):
   * a throw-away identity, no network, no host files beyond read-only system ones, no inherited environment.
   * Without it code in the backup runs with the server user's rights on this host, and the report says the
   * restore was not sandboxed.
   */
  readonly sandbox?: boolean;
}

/**
 * The embedded default environment: a throw-away PostgreSQL cluster made with `initdb` in a fresh temp
 * dir, reachable only over a Unix socket in that dir with a password made for this run, tuned for restore
 * speed (no fsync, minimal WAL), run in the restore sandbox (see {@link makeServerSandbox}: a throw-away
 * identity, no network, read-only system files, no secrets), and deleted afterwards in every outcome — the
 * server dies with this process, and a watchdog removes its directory even if the process is killed.
 *
 * @example
 * drill('orders restore', { source: fileSource('backups/'), environment: localPostgres() }, …);
 */
export function localPostgres(config: LocalPostgresConfig = {}): Environment {
  return {
    kind: 'local-postgres',
    // Without bubblewrap a drill stops before it starts, with one line naming the package.
    preflight: async () => {
      if (sandboxWanted(config.sandbox)) await sandboxTools();
    },
    start: (context) => startLocalPostgres(config, context),
  };
}

// Not "restore_drill": with search_path "$user", public that would put the restore_drill schema first.
const SUPERUSER = 'restore_drill_superuser';
const DATABASE = 'restored';
const INITDB_ARGS = ['--auth=scram-sha-256', '-E', 'UTF8', '--locale=C', '--no-sync', '--no-instructions'];

/** The port in the socket's name (`.s.PGSQL.5432`): each cluster has its own socket directory, so all share it. */
const PORT = 5432;

/**
 * How every cluster listens and logs: no TCP at all, a Unix socket in its own directory; errors with the
 * statement and its CONTEXT in the server log, where {@link scanServerLog} looks for what the sandbox blocked.
 */
function connectionSettings(socketDir: string): Record<string, string | number | boolean> {
  return {
    listen_addresses: '',
    port: PORT,
    unix_socket_directories: socketDir,
    unix_socket_permissions: '0700',
    ...SERVER_LOG_SETTINGS,
    password_encryption: 'scram-sha-256',
  };
}

/**
 * Server settings for a fast restore into a cluster that is thrown away afterwards (docs/performance.md has
 * the measurements behind them).
 */
export function restoreTuning(): Record<string, string | number | boolean> {
  return restoreTuningFor(availableParallelism(), Math.floor(totalmem() / 1024 / 1024));
}

/** A server setting's value as postgresql.conf wants it. */
export function confValue(value: string | number | boolean): string {
  if (typeof value === 'boolean') return value ? 'on' : 'off';
  if (typeof value === 'number') return String(value);
  return `'${value.replace(/'/g, "''")}'`;
}

async function startLocalPostgres(
  config: LocalPostgresConfig,
  context: EnvironmentContext,
): Promise<StartedEnvironment> {
  // `binDir` is passed as a value: setting RESTORE_DRILL_PG_BIN would reach every drill of the process.
  const bins = findPgBinaries({ tools: [...SERVER_TOOLS, 'pg_restore'], binDir: config.binDir });
  const sandboxed = sandboxWanted(config.sandbox);
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
  const started = new StartedLocalPostgres(bins, dir, randomBytes(24).toString('base64url'), context.runId);
  try {
    await started.init(config, sandboxed, context);
    return started;
  } catch (error) {
    await started.stop();
    throw error;
  }
}

/** A Unix socket's path must fit in 108 bytes (`sun_path`), its name included. */
const MAX_SOCKET_PATH = 107;

class StartedLocalPostgres implements StartedEnvironment {
  readonly kind = 'local-postgres';
  /** `restored`; after a physical restore, the backup's database the drill verifies. */
  database = DATABASE;
  version = '';
  facts: Record<string, string | number | boolean | null> = {};
  manifest: MarkerManifest | undefined;
  private sandbox: ServerSandbox | undefined;
  private server: ChildProcess | undefined;
  private exited: Promise<void> | undefined;
  private stopped = false;
  /** Checked on every connection: code in the backup can replace the socket in the server's own folder. */
  private readonly identity = new ServerIdentity();

  constructor(
    private readonly bins: PgBinaries,
    /** The cluster's private temp dir: `data/` (PGDATA) and `socket/` belong to the server, the rest to us. */
    readonly dir: string,
    private readonly password: string,
    readonly runId: string,
  ) {
    registerSecret(password);
  }

  private get dataDir(): string {
    return join(this.dir, 'data');
  }

  /** Where the server's Unix socket is: the only way in. */
  get socketDir(): string {
    return join(this.dir, 'socket');
  }

  /** Where the harness connects once the server listens: a link to its socket (see {@link pinSocket}). */
  private get pinnedDir(): string {
    return join(this.dir, 'pinned');
  }

  /** Whether the socket is pinned: false only when the kernel refused the link. */
  private pinned = false;

  private get logPath(): string {
    return join(this.dir, 'server.log');
  }

  async init(config: LocalPostgresConfig, sandboxed: boolean, context: EnvironmentContext): Promise<void> {
    const { signal, log } = context;
    if (`${this.socketDir}/.s.PGSQL.${PORT}`.length > MAX_SOCKET_PATH) {
      throw new ConfigError(
        `the cluster folder ${this.dir} is too long a path for the server's Unix socket (at most ${MAX_SOCKET_PATH} bytes)`,
        'choose a shorter parent folder (parentDir, or TMPDIR)',
      );
    }
    const sandbox = (this.sandbox = await makeServerSandbox({
      enabled: sandboxed,
      bins: this.bins,
      clusterDir: this.dir,
    }));
    this.facts = { sandbox: sandbox.description };
    const owner = sandbox.owner;
    for (const path of [this.dataDir, this.socketDir]) {
      await mkdir(path, { mode: 0o700 });
      if (owner) await chown(path, owner.uid, owner.gid);
    }
    if (owner) {
      // The server identity only needs to pass through to its own two folders; it can list nothing here.
      await chmod(this.dir, 0o711);
      const closed = await closedAncestor(this.dir, owner);
      if (closed) {
        throw new ConfigError(
          `PostgreSQL runs as uid ${owner.uid} (not root), which cannot reach ${this.dir}: ${closed} is closed to other users`,
          'choose a parent folder every user can traverse (chmod o+x on each folder above it), e.g. the OS temp dir',
        );
      }
    }
    const how =
      sandbox.mechanism === 'none'
        ? `unsandboxed${owner ? ` as user ${owner.name}` : ''}`
        : `in a sandbox (${sandbox.description})`;
    if (context.restorable && physicalMethodFor(context.restorable)) {
      // A physical restore replaces the data directory with the backup's: an initdb (or template) would be discarded.
      this.version = this.bins.version;
      log(
        `provision: PostgreSQL ${this.bins.version} cluster folder ${this.dir} ${how}, no initdb: the physical backup becomes its data directory`,
      );
      return;
    }
    const templated = config.template !== false && (await this.fromTemplate(context, how));
    if (!templated) {
      log(`provision: initdb ${this.bins.version} in ${this.dir} ${how}`);
      await this.initdb(this.password, signal);
    }
    const tuning = config.tuning === 'none' ? {} : restoreTuning();
    const settings = { ...tuning, ...connectionSettings(this.socketDir), ...config.settings };
    const conf = Object.entries(settings)
      .map(([k, v]) => `${k} = ${confValue(v)}`)
      .join('\n');
    await appendFile(
      join(this.dataDir, 'postgresql.conf'),
      `\n# restore-drill: disposable cluster of run ${this.runId}\n${conf}\n`,
    );
    await this.startServer(signal);
    const client = new pg.Client(this.connectionConfig('postgres'));
    await client.connect();
    try {
      this.version = (
        await client.query<{ v: string }>("select current_setting('server_version') as v")
      ).rows[0]!.v.split(' ')[0]!;
      if (!templated) await client.query(`create database ${DATABASE}`); // a template copy has it
      await labelDisposableDatabase(client, DATABASE, this.runId);
    } finally {
      await client.end();
    }
    log(`provision: PostgreSQL ${this.version} listening on ${this.socketDir} ${how}`);
  }

  /**
   * Starts `postgres` in the foreground as a child of this process (no pg_ctl): sandboxed, it runs under
   * `bwrap --die-with-parent` in its own pid namespace, so this process dying in any way, SIGKILL included,
   * takes the whole server with it. Its output goes to `server.log`, a file the server cannot open itself.
   */
  private async startServer(signal: AbortSignal | undefined): Promise<void> {
    await this.socketDirFor('server');
    const command = this.sandbox!.command('server', this.bins.path('postgres'), ['-D', this.dataDir], {
      writable: [this.dataDir, this.socketDir],
    });
    const logFile = await open(this.logPath, 'a', 0o600);
    try {
      const child = spawn(command.file, command.args, {
        cwd: '/',
        env: command.env,
        stdio: ['ignore', logFile.fd, logFile.fd],
        ...(command.user ? { uid: command.user.uid, gid: command.user.gid } : {}),
      });
      this.server = child;
      this.exited = new Promise((resolve) => {
        child.once('exit', () => resolve());
        child.once('error', () => resolve());
      });
    } finally {
      await logFile.close();
    }
    const failed = async (why: string) => {
      const serverLog = await readFile(this.logPath, 'utf8').catch(() => '');
      const reason = serverLog.trim().split('\n').slice(-3).join(' / ');
      return new RestoreDrillError(`local PostgreSQL did not start: ${reason || why}`, `see ${this.logPath}`);
    };
    let gone = false;
    void this.exited.then(() => (gone = true));
    const deadline = Date.now() + 120_000;
    for (;;) {
      if (signal?.aborted) throw new InterruptedError(signal.reason);
      if (gone) throw await failed(`the server exited with code ${this.server.exitCode ?? this.server.signalCode}`);
      // Line 8 of postmaster.pid is the postmaster's status; "ready" once it accepts connections (what pg_ctl -w reads).
      const pidFile = await readFile(join(this.dataDir, 'postmaster.pid'), 'utf8').catch(() => '');
      if (pidFile.split('\n')[7]?.trim() === 'ready') {
        // A fresh server (none of the backup's code ran in it yet): its first connection records who it is.
        this.identity.trustNext();
        await this.socketDirFor('harness');
        // Before any of the backup's code runs: it could swap the socket in a folder the server can write to
        // (not as root, the server is the caller), and pg_restore's libpq (before 16) would follow the swap.
        this.pinned = await pinSocket(this.socketDir, this.pinnedDir, PORT);
        return;
      }
      if (Date.now() > deadline) throw await failed('not ready after 120 s');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /**
   * Who owns the socket folder. The server identity needs it only while the server starts (it creates its
   * socket and lock file there); once the server listens, the folder is handed to this process (root), so
   * code in the backup — running as that identity — can no longer swap the socket for a link to another
   * server of this machine. The harness's own connections would refuse such a server (server-identity.ts),
   * but `pg_restore`'s libpq before 16 cannot check whom it reached. Only where the server runs as an
   * identity of its own (as root); without one, the server is the caller and a folder cannot be closed to it.
   */
  private async socketDirFor(who: 'server' | 'harness'): Promise<void> {
    const owner = this.sandbox?.owner;
    if (!owner) return;
    if (who === 'server') {
      await chown(this.socketDir, owner.uid, owner.gid);
      await chmod(this.socketDir, 0o700);
    } else {
      await chown(this.socketDir, process.getuid?.() ?? 0, process.getgid?.() ?? 0);
      // The server still reaches its lock file (it touches it now and then), but can create, rename or remove nothing.
      await chmod(this.socketDir, 0o711);
    }
  }

  /** initdb into the (empty) data dir, in the sandbox's initdb profile; the password file is readable to it only. */
  private async initdb(password: string, signal: AbortSignal | undefined): Promise<void> {
    const pwfile = join(this.socketDir, 'pwfile');
    await writeFile(pwfile, password, { mode: 0o600 });
    const owner = this.sandbox!.owner;
    if (owner) await chown(pwfile, owner.uid, owner.gid);
    try {
      const args = ['-D', this.dataDir, '-U', SUPERUSER, `--pwfile=${pwfile}`, ...INITDB_ARGS];
      const command = this.sandbox!.command('initdb', this.bins.path('initdb'), args, {
        writable: [this.dataDir],
        readable: [pwfile],
      });
      await runSandboxed(command, {
        signal,
        hint: 'check that the PostgreSQL server binaries work and the temp dir is writable',
      });
    } finally {
      await rm(pwfile, { force: true });
    }
  }

  /** Runs one statement in single-user mode, sandboxed: nothing listens, so nobody can connect while it runs. */
  private singleUser(statement: string, signal: AbortSignal | undefined): Promise<void> {
    return singleUser(this.sandbox!, this.bins, this.dataDir, statement, signal);
  }

  /** Copies the cached initdb template; false (and why, in the log) when none can be used. */
  private async fromTemplate({ signal, log }: EnvironmentContext, how: string): Promise<boolean> {
    const init: ClusterInit = {
      bins: this.bins,
      superuser: SUPERUSER,
      initdbArgs: INITDB_ARGS,
      database: DATABASE,
      owner: this.sandbox!.owner,
      signal,
      log,
      // A password nobody learns: the cluster gets its own below, like every copy.
      initdb: () => this.initdb(randomBytes(24).toString('base64url'), signal),
      singleUser: (statement) => this.singleUser(statement, signal),
    };
    try {
      log(`provision: copy of the initdb template in ${templateCacheDir()} into ${this.dir}, started ${how}`);
      const problem = await copyClusterTemplate(init, this.dataDir);
      if (!problem) {
        await this.singleUser(
          `alter role ${pg.escapeIdentifier(SUPERUSER)} password ${pg.escapeLiteral(this.password)}`,
          signal,
        );
        return true;
      }
      log(`provision: not using a cached initdb template (${problem})`);
    } catch (error) {
      if (signal?.aborted) throw error;
      log(
        `provision: the cached initdb template did not work (${(error as Error).message.split('\n')[0]}); running initdb`,
      );
    }
    // The failed copy's files belong to the server's identity: removed without following a link.
    await removeOwnTree(this.dataDir);
    await mkdir(this.dataDir, { mode: 0o700 });
    const owner = this.sandbox!.owner;
    if (owner) await chown(this.dataDir, owner.uid, owner.gid);
    return false;
  }

  connectionConfig(database: string = this.database): pg.ClientConfig {
    return loginConfig(this.login(), database);
  }

  libpqEnv(database: string = this.database): Record<string, string> {
    return loginEnv(this.login(), database);
  }

  private login(): PostgresLogin {
    const host = this.pinned ? this.pinnedDir : this.socketDir;
    return { host, port: PORT, user: SUPERUSER, password: this.password, identity: this.identity };
  }

  async restore(restorable: Restorable, options: RestoreOptions): Promise<void> {
    const physical = physicalMethodFor(restorable);
    if (physical) {
      // Recovery runs servers of its own in the socket folder (a server started before, with no restorable
      // given, is replaced): it is the server identity's again until the restored server listens.
      await this.socketDirFor('server');
      const result = await restorePhysical(this.physicalCluster(), physical.method, physical.target, options);
      this.facts = { ...this.facts, ...result.facts };
      this.version = await this.serverVersion(physical.database);
      this.database = physical.database;
      if (result.walMarker) this.manifest = walMarkerManifest(result.walMarker, this.version, physical.database);
      return;
    }
    requirePgDump(restorable, 'local-postgres');
    await pgRestore(this, restorable.dump, options);
  }

  /** This cluster as a physical restore sees it: its folders, sandbox, login and server controls. */
  private physicalCluster(): PhysicalCluster {
    return {
      dir: this.dir,
      dataDir: this.dataDir,
      socketDir: this.socketDir,
      bins: this.bins,
      sandbox: this.sandbox!,
      superuser: SUPERUSER,
      password: this.password,
      connectionSettings: connectionSettings(this.socketDir),
      stopServer: () => this.stopServer(),
      startServer: (signal) => this.startServer(signal),
      singleUser: (statement, signal) => this.singleUser(statement, signal),
      confValue,
    };
  }

  /** The restored server's version; a ConfigError when the backup has no database `database`. */
  private async serverVersion(database: string): Promise<string> {
    const client = new pg.Client(this.connectionConfig('postgres'));
    await client.connect();
    try {
      const names = (
        await client.query<{ datname: string }>('select datname from pg_database where datallowconn order by 1')
      ).rows.map((r) => r.datname);
      if (!names.includes(database)) {
        throw new ConfigError(
          `the physical backup has no database "${database}" (it has ${names.join(', ')})`,
          "set the source's database to one of them",
        );
      }
      return (await client.query<{ v: string }>("select current_setting('server_version') as v")).rows[0]!.v.split(
        ' ',
      )[0]!;
    } finally {
      await client.end();
    }
  }

  /** What the sandbox blocked, from the server log: each is code in the backup that tried to leave it. */
  async sandboxViolations(): Promise<SandboxViolations> {
    const sandboxed = this.sandbox?.mechanism === 'bubblewrap';
    return {
      sandboxed,
      description: this.sandbox?.description ?? 'not started',
      ...withRefusedConnections(await scanServerLog(this.logPath, [this.dataDir, this.socketDir]), this.identity),
    };
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.stopServer();
    // Never a path-based rm -rf as root: unsandboxed, a process the backup's code left running as the server's
    // account could swap a folder for a symlink half-way through.
    await removeOwnTree(this.dir, { last: [LABEL_FILE] });
  }

  /** Stops the server and waits for it; the cluster's folder stays. */
  private async stopServer(): Promise<void> {
    const server = this.server;
    if (server && server.exitCode === null && server.signalCode === null) {
      // Sandboxed, the child is bubblewrap: killing it ends the pid namespace and every process in it.
      // Unsandboxed, it is the postmaster: SIGQUIT is an immediate shutdown, SIGKILL if that hangs.
      const sandboxed = this.sandbox?.mechanism === 'bubblewrap';
      server.kill(sandboxed ? 'SIGKILL' : 'SIGQUIT');
      const timeout = new Promise((resolve) => setTimeout(resolve, 10_000).unref());
      if ((await Promise.race([this.exited!.then(() => 'exited'), timeout])) !== 'exited') server.kill('SIGKILL');
      await this.exited;
    } else if (!server) {
      await killPostmaster(this.dataDir);
    }
    this.server = undefined;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

/**
 * The first folder above `dir` that `user` cannot pass through (no search permission for it), or null. Checked
 * from the modes rather than by starting a process as that user: it costs a few stats, not a process.
 */
async function closedAncestor(dir: string, user: OsUser): Promise<string | null> {
  for (let path = dirname(dir); ; path = dirname(path)) {
    const info = await stat(path);
    const bit = info.uid === user.uid ? 0o100 : info.gid === user.gid ? 0o010 : 0o001;
    if ((info.mode & bit) === 0) return path;
    if (path === dirname(path)) return null;
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
