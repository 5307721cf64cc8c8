// The container environment: implements `Environment` (../environment.ts) with a throwaway PostgreSQL
// container on Docker or Podman — the image matching the dump (container-image.ts), server settings
// (container-settings.ts), readiness (container-ready.ts), `pg_restore` inside the container
// (container-restore.ts), the socket folder shared with the host (socket-dir.ts), and labelled leftovers
// (container-labels.ts, container-leftovers.ts). It restores `pg-dump` recovery points, and physical ones
// (container-physical.ts: the local physical restore with each step in a container). The container has no
// network at all: the server listens only on a Unix socket in that folder.

import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { ClientConfig } from 'pg';
import pg from 'pg';
import type { ContainerRuntimeClient, StartedTestContainer } from 'testcontainers';
import { ConfigError, InterruptedError } from '../../errors.ts';
import { labelDisposableDatabase } from '../../postgres/disposable-database.ts';
import type { Restorable } from '../../model/recovery-point.ts';
import { registerSecret } from '../../util/redact.ts';
import { chooseImage, ensureImage } from './container-image.ts';
import { CONTAINER_LABELS, containerLabels, labelFromContainer } from './container-labels.ts';
import { startContainerPhysical } from './container-physical.ts';
import { physicalMethodFor } from '../local/physical-methods.ts';
import { PostgresReady } from './container-ready.ts';
import { restoreDump, type InsideContainer, type RestoreWith } from './container-restore.ts';
import { containerRestoreSettings, settingsArgs, type SettingValue } from './container-settings.ts';
import type { DockerContainer } from './docker-exec.ts';
import { findContainerLeftovers, removeContainerLeftover } from './container-leftovers.ts';
import { containerRuntime, ContainerRuntimeUnavailableError } from './docker-runtime.ts';
import type {
  Environment,
  EnvironmentContext,
  RestoreOptions,
  SandboxViolations,
  StartedEnvironment,
} from '../environment.ts';
import { scanServerLogStream } from '../local/sandbox-violations.ts';
import { containerLogStream } from './docker-logs.ts';
import { RESOURCE_PREFIX, type ResourceLabel } from '../labels.ts';
import { makeSocketDir, SOCKET_MOUNT, type SocketDir } from './socket-dir.ts';
import { loginConfig, loginEnv, requirePgDump, type PostgresLogin } from '../started-postgres.ts';
import { ServerIdentity, withRefusedConnections } from '../server-identity.ts';

/** Options of the {@link containerPostgres} environment. All optional. */
export interface ContainerPostgresConfig {
  /**
   * The image to run. `{major}` is replaced by the PostgreSQL major version of the recovery point (from the
   * dump's header, or the snapshot's engine version); default `postgres:{major}`, the official image.
   * E.g. `'postgres:16'` (fixed) or `'registry.example.com/postgres:{major}-bookworm'` (a mirror).
   */
  readonly image?: string;
  /** Extra server settings, applied after the restore-speed defaults. */
  readonly settings?: Readonly<Record<string, SettingValue>>;
  /** Where pg_restore runs; default `auto` (the host's when it can read the dump, else the container's). */
  readonly restoreWith?: RestoreWith;
  /**
   * Started instead when no container runtime is reachable, e.g. `localPostgres()`; the drill log says so,
   * and the report records the environment that actually ran. Without it, that case fails the drill.
   */
  readonly fallback?: Environment;
  /** How long the server may take to accept connections; default 120. */
  readonly startupTimeoutSeconds?: number;
}

// Not "restore_drill": with search_path "$user", public that would put the restore_drill schema first.
const SUPERUSER = 'restore_drill_superuser';
const DATABASE = 'restored';
const SECRETS_DIR = '/run/restore-drill';
/**
 * The final server's port, which names its socket (`.s.PGSQL.5433`). The image's init runs a temporary
 * server with `PGPORT` (5432) instead, so it never answers where the harness connects.
 */
const SERVER_PORT = 5433;
const INIT_PORT = 5432;
/** The image's default socket folder: its init scripts connect there. */
const IMAGE_SOCKET_DIR = '/var/run/postgresql';

/**
 * A throw-away PostgreSQL in a container (testcontainers), of the same major version as production: the
 * image is `postgres:<major>` of the recovery point unless the drill names one. The container has no network
 * (`--network none`); the server listens only on a Unix socket in a per-drill folder of this machine, mounted
 * into the container, so the engine must run on this machine. Tuned for restore speed, labelled with the run
 * id (`restore-drill.run-id`, owner pid and host), removed with its socket folder in every outcome, and
 * removed by `restore-drill cleanup` when a killed run left it. With no container runtime reachable it
 * fails at once with one line saying what to do, or starts `fallback` when the drill allows it.
 *
 * @example
 * drill('orders restore', { source: fileSource('backups/'), environment: containerPostgres() }, …);
 * drill('orders restore', { source, environment: containerPostgres({ image: 'postgres:16', fallback: localPostgres() }) }, …);
 */
export function containerPostgres(config: ContainerPostgresConfig = {}): Environment {
  return {
    kind: 'container',
    start: (context) => startContainerPostgres(config, context),
    removeLeftovers: removeCrashedContainers,
  };
}

async function startContainerPostgres(
  config: ContainerPostgresConfig,
  context: EnvironmentContext,
): Promise<StartedEnvironment> {
  let client: ContainerRuntimeClient;
  try {
    client = await containerRuntime();
  } catch (error) {
    if (!(error instanceof ContainerRuntimeUnavailableError) || !config.fallback) throw error;
    context.log(
      `provision: ${error.message}; starting the ${config.fallback.kind} environment instead, as this drill allows`,
    );
    return config.fallback.start(context);
  }
  const choice = await chooseImage(config.image, context);
  context.log(`provision: image ${choice.image} (${choice.basis})`);
  await ensureImage(client, choice.image, context.log);
  await startReaperOrExplain(client);
  requireLocalEngine(client);
  const password = randomBytes(24).toString('base64url');
  registerSecret(password);
  const label: ResourceLabel = {
    tool: 'restore-drill',
    kind: 'container',
    runId: context.runId,
    drillName: context.drillName,
    ownerPid: process.pid,
    createdAt: new Date().toISOString(),
  };
  const name = `${RESOURCE_PREFIX}${context.runId}`;
  const sockets = await makeSocketDir({ ...label, kind: 'container-socket-dir' }, SERVER_PORT);
  const request: StartRequest = { config, context, client, image: choice.image, sockets, password, label, name };
  try {
    const started =
      context.restorable && physicalMethodFor(context.restorable)
        ? await startContainerPhysical({
            image: choice.image,
            sockets,
            superuser: SUPERUSER,
            password,
            port: SERVER_PORT,
            label,
            runId: context.runId,
            log: context.log,
            startServer: (dataDir) => startContainer({ ...request, dataDir }),
            removeRunContainers: () => removeRunContainers(client, label),
          })
        : await startContainer(request);
    if (context.signal?.aborted) {
      await started.stop();
      throw new InterruptedError(context.signal.reason);
    }
    return started;
  } catch (error) {
    await removeQuietly(client, name, label); // created but not started, or left by a failed wait
    await sockets.remove();
    throw error;
  }
}

/**
 * The server is reached through a folder of this machine mounted into the container: an engine elsewhere
 * (DOCKER_HOST=tcp://other-host) would mount a folder of its own machine instead.
 */
function requireLocalEngine(client: ContainerRuntimeClient): void {
  const host = client.info.containerRuntime.host;
  if (!['localhost', '127.0.0.1', '::1'].includes(host)) {
    throw new ConfigError(
      `the container engine runs on ${host}, not on this machine: the container environment reaches its server over a Unix socket in a folder mounted from this machine, and has no network`,
      'run restore-drill on the machine of the container engine (unset DOCKER_HOST or point it at a local engine), or use localPostgres()',
    );
  }
}

interface StartRequest {
  readonly config: ContainerPostgresConfig;
  readonly context: EnvironmentContext;
  readonly client: ContainerRuntimeClient;
  readonly image: string;
  readonly sockets: SocketDir;
  readonly password: string;
  readonly label: ResourceLabel;
  readonly name: string;
  /** A restored data directory of this machine to run the server on (a physical restore), instead of initdb's. */
  readonly dataDir?: string;
}

async function startContainer(request: StartRequest): Promise<StartedContainerPostgres> {
  const { config, context, client, image, sockets, password, label, name, dataDir } = request;
  const { GenericContainer } = await import('testcontainers');
  const { cpus, memory } = client.info.containerRuntime;
  const settings = {
    ...containerRestoreSettings(
      { socketDirs: [IMAGE_SOCKET_DIR, SOCKET_MOUNT], port: SERVER_PORT },
      { cpus, memoryBytes: memory },
    ),
    ...config.settings,
  };
  const address = { host: sockets.socketDir, port: SERVER_PORT };
  const ready = new PostgresReady({ ...address, user: SUPERUSER, password, database: DATABASE }, context.signal);

  const container = new GenericContainer(image)
    .withName(name)
    .withLabels(containerLabels(label))
    // No network at all: not the host's, not a bridge's. Only the socket folder connects it to this machine.
    .withNetworkMode('none')
    .withBindMounts([
      { source: sockets.socketDir, target: SOCKET_MOUNT, mode: 'rw' },
      // A physical restore's data directory, at the same path: the image's init sees PG_VERSION and skips initdb.
      ...(dataDir ? [{ source: dataDir, target: dataDir, mode: 'rw' as const }] : []),
    ])
    .withEnvironment({
      POSTGRES_USER: SUPERUSER,
      POSTGRES_DB: DATABASE,
      // A file, not POSTGRES_PASSWORD: the environment of a container is visible to `docker inspect`.
      POSTGRES_PASSWORD_FILE: `${SECRETS_DIR}/password`,
      // --no-sync: the data directory is thrown away, so initdb need not wait for the disk.
      POSTGRES_INITDB_ARGS: '--auth-local=scram-sha-256 --auth-host=scram-sha-256 --encoding=UTF8 --locale=C --no-sync',
      PGPORT: String(INIT_PORT),
      ...(dataDir ? { PGDATA: dataDir } : {}),
    })
    .withCopyContentToContainer([
      { content: password, target: `${SECRETS_DIR}/password`, mode: 0o600 },
      { content: `*:*:*:*:${password}\n`, target: `${SECRETS_DIR}/pgpass`, mode: 0o600 },
    ])
    .withCommand(['postgres', ...settingsArgs(settings)])
    // Parallel index builds use dynamic shared memory in /dev/shm, which Docker limits to 64 MB by default.
    .withSharedMemorySize(Math.min(2 ** 30, Math.max(2 ** 27, Math.floor(memory / 8))))
    .withWaitStrategy(ready)
    .withStartupTimeout((config.startupTimeoutSeconds ?? 120) * 1000);
  context.log(`provision: starting container ${name} (no network; server socket in ${sockets.socketDir})`);
  const started = await container.start();
  const docker = client.container.getById(started.getId());
  const env = new StartedContainerPostgres(
    started,
    docker,
    sockets,
    password,
    context.runId,
    config.restoreWith ?? 'auto',
    {
      image,
      container: name,
      network: 'none',
      sandbox: `container ${name} (${image}): no network, no file of this host but its socket folder, no secret of the harness's environment; a program the backup runs inside it is seen only when it fails`,
    },
  );
  try {
    await env.init(!dataDir);
  } catch (error) {
    await env.stop();
    throw error;
  }
  context.log(
    `provision: PostgreSQL ${env.version} in container ${name} (${image}), listening only on ${sockets.socketDir}`,
  );
  return env;
}

/** Starts testcontainers' reaper (Ryuk) unless disabled, explaining what to do when it cannot start. */
async function startReaperOrExplain(client: ContainerRuntimeClient): Promise<void> {
  const { getReaper } = await import('testcontainers');
  try {
    await getReaper(client);
  } catch (error) {
    throw new ConfigError(
      `testcontainers' reaper (Ryuk) could not start: ${(error as Error).message.split('\n')[0]}`,
      'make its image pullable, or set TESTCONTAINERS_RYUK_DISABLED=true: restore-drill removes its containers itself, and `restore-drill cleanup` removes what a killed run left',
    );
  }
}

/** Removes every container labelled with this run (and this process, on this host): a physical restore's steps. */
async function removeRunContainers(client: ContainerRuntimeClient, label: ResourceLabel): Promise<void> {
  const dockerode = client.container.dockerode;
  const listed = await dockerode.listContainers({
    all: true,
    filters: { label: [`${CONTAINER_LABELS.runId}=${label.runId}`] },
  });
  for (const info of listed) {
    const found = labelFromContainer(info.Labels);
    if (!found || found.ownerPid !== label.ownerPid || found.ownerHost !== hostname()) continue;
    await dockerode
      .getContainer(info.Id)
      .remove({ force: true, v: true })
      .catch(() => {});
  }
}

/**
 * Removes the container this start made, found by its name — but only if its labels say it is this run's
 * (a container of that name could be someone else's, e.g. when creating ours failed because the name was taken).
 */
async function removeQuietly(client: ContainerRuntimeClient, name: string, label: ResourceLabel): Promise<void> {
  const container = client.container.dockerode.getContainer(name);
  const info = await container.inspect().catch(() => null);
  const found = labelFromContainer(info?.Config.Labels);
  if (!found || found.runId !== label.runId || found.ownerPid !== label.ownerPid || found.ownerHost !== hostname())
    return;
  await container.remove({ force: true, v: true }).catch(() => {});
}

class StartedContainerPostgres implements StartedEnvironment {
  readonly kind = 'container';
  readonly database = DATABASE;
  version = '';
  readonly facts: Record<string, string>;
  private stopped = false;
  /** The folder with the pinned link to the server's socket (null: the shared folder is used). */
  private pinned: string | null = null;
  /** The server's data directory inside the container: the image decides it (`PGDATA`); init() asks the server. */
  private dataDir = '/var/lib/postgresql/data';
  /**
   * Checked on every connection (init's first one records it): not as root the socket is not pinned, and the
   * backup's code could swap it in the shared folder for another server's.
   */
  private readonly identity = new ServerIdentity();

  constructor(
    private readonly started: StartedTestContainer,
    private readonly container: DockerContainer,
    private readonly sockets: SocketDir,
    private readonly password: string,
    readonly runId: string,
    private readonly restoreWith: RestoreWith,
    facts: Record<string, string>,
  ) {
    this.facts = { ...facts };
  }

  /** `label`: mark the restore database as disposable (not after a physical restore: there is no `restored`). */
  async init(label = true): Promise<void> {
    // Before any of the backup's code runs: later connections go through a link the container cannot replace.
    this.pinned = await this.sockets.pin(SERVER_PORT);
    const client = new pg.Client(this.connectionConfig('postgres'));
    await client.connect();
    try {
      this.version = (
        await client.query<{ v: string }>("select current_setting('server_version') as v")
      ).rows[0]!.v.split(' ')[0]!;
      this.dataDir = (await client.query<{ d: string }>("select current_setting('data_directory') as d")).rows[0]!.d;
      if (label) await labelDisposableDatabase(client, DATABASE, this.runId);
    } finally {
      await client.end();
    }
  }

  connectionConfig(database: string = this.database): ClientConfig {
    return loginConfig(this.login(), database);
  }

  libpqEnv(database: string = this.database): Record<string, string> {
    return loginEnv(this.login(), database);
  }

  private login(): PostgresLogin {
    return {
      host: this.pinned ?? this.sockets.socketDir,
      port: SERVER_PORT,
      user: SUPERUSER,
      password: this.password,
      identity: this.identity,
    };
  }

  async restore(restorable: Restorable, options: RestoreOptions): Promise<void> {
    requirePgDump(restorable, 'container');
    const inside: InsideContainer = {
      started: this.started,
      container: this.container,
      socketDir: SOCKET_MOUNT,
      port: SERVER_PORT,
      user: SUPERUSER,
      passFile: `${SECRETS_DIR}/pgpass`,
      pinned: this.pinned !== null,
    };
    await restoreDump(this, inside, restorable.dump, this.restoreWith, options);
  }

  /**
   * What the container blocked, from its log (the server logs to stderr): code in the backup whose program
   * failed for want of a network or of this host's files, a connection that found no network, a file outside
   * the server's own folders. A program that runs and succeeds inside the container leaves no trace here: it
   * stays confined to the container, which is removed afterwards.
   */
  async sandboxViolations(): Promise<SandboxViolations> {
    return {
      sandboxed: true,
      description: this.facts.sandbox!,
      ...withRefusedConnections(
        await scanServerLogStream(containerLogStream(this.container), [this.dataDir, IMAGE_SOCKET_DIR, SOCKET_MOUNT]),
        this.identity,
      ),
    };
  }

  /**
   * Removes the container and its volumes (the official image declares one for PGDATA), then the socket
   * folder — also when removing the container failed: once it is gone, nothing else can write there.
   */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    try {
      await this.container.remove({ force: true, v: true });
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode !== 404) throw error;
    } finally {
      await this.sockets.remove();
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

/** Containers of crashed runs on this host (owner process gone); none when no engine answers. */
async function removeCrashedContainers({ log }: { readonly log: (line: string) => void }): Promise<number> {
  const { leftovers } = await findContainerLeftovers();
  for (const leftover of leftovers) await removeContainerLeftover(leftover);
  if (leftovers.length)
    log(
      `removed ${leftovers.length} leftover container(s) of crashed runs: ${leftovers.map((l) => l.location).join(', ')}`,
    );
  return leftovers.length;
}
