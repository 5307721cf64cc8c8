// The container environment: implements `Environment` (../environment.ts) with a throwaway PostgreSQL
// container on Docker or Podman — the image matching the dump (container-image.ts), server settings
// (container-settings.ts), readiness (container-ready.ts), `pg_restore` inside the container
// (container-restore.ts), and labelled leftovers (container-labels.ts, container-leftovers.ts). It restores
// `pg-dump` recovery points.

import { randomBytes } from 'node:crypto';
import type { ClientConfig } from 'pg';
import pg from 'pg';
import type { ContainerRuntimeClient, StartedTestContainer } from 'testcontainers';
import { ConfigError, InterruptedError } from '../../errors.ts';
import { labelDisposableDatabase } from '../../postgres/disposable-database.ts';
import type { Restorable } from '../../model/recovery-point.ts';
import { freePort } from '../../util/free-port.ts';
import { registerSecret } from '../../util/redact.ts';
import { chooseImage, ensureImage } from './container-image.ts';
import { containerLabels } from './container-labels.ts';
import { PostgresReady, ServerDidNotStartError } from './container-ready.ts';
import { restoreDump, type InsideContainer, type RestoreWith } from './container-restore.ts';
import { containerRestoreSettings, settingsArgs, type SettingValue } from './container-settings.ts';
import type { DockerContainer } from './docker-exec.ts';
import { findContainerLeftovers, removeContainerLeftover } from './container-leftovers.ts';
import { containerRuntime, ContainerRuntimeUnavailableError } from './docker-runtime.ts';
import type { Environment, EnvironmentContext, RestoreOptions, StartedEnvironment } from '../environment.ts';
import { RESOURCE_PREFIX, type ResourceLabel } from '../labels.ts';
import { loginConfig, loginEnv, requirePgDump, type PostgresLogin } from '../started-postgres.ts';

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
   * How the server is reached. `host`: the container shares the engine host's network and listens on
   * 127.0.0.1 at a free port (Linux engines). `bridge`, or the name of another Docker network: port 5432
   * is published on a random host port. Default `auto`: `bridge` when the engine has its default bridge
   * network, else `host`.
   */
  readonly network?: 'auto' | 'host' | 'bridge' | (string & {});
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
const PUBLISHED_PORT = 5432;
const PORT_ATTEMPTS = 5;

/**
 * A throw-away PostgreSQL in a container (testcontainers), of the same major version as production: the
 * image is `postgres:<major>` of the recovery point unless the drill names one. Tuned for restore speed,
 * labelled with the run id (`restore-drill.run-id`, owner pid and host), removed in every outcome, and
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

async function startContainerPostgres(config: ContainerPostgresConfig, context: EnvironmentContext): Promise<StartedEnvironment> {
  let client: ContainerRuntimeClient;
  try {
    client = await containerRuntime();
  } catch (error) {
    if (!(error instanceof ContainerRuntimeUnavailableError) || !config.fallback) throw error;
    context.log(`provision: ${error.message}; starting the ${config.fallback.kind} environment instead, as this drill allows`);
    return config.fallback.start(context);
  }
  const choice = await chooseImage(config.image, context);
  context.log(`provision: image ${choice.image} (${choice.basis})`);
  await ensureImage(client, choice.image, context.log);
  await startReaperOrExplain(client);
  const network = await resolveNetwork(config.network ?? 'auto', client);
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
  for (let attempt = 1; ; attempt++) {
    const name = `${RESOURCE_PREFIX}${context.runId}${attempt > 1 ? `-${attempt}` : ''}`;
    try {
      const started = await startContainer({ config, context, client, image: choice.image, network, password, label, name });
      if (context.signal?.aborted) {
        await started.stop();
        throw new InterruptedError(context.signal.reason);
      }
      return started;
    } catch (error) {
      await removeQuietly(client, name); // created but not started, or left by a failed wait
      if (error instanceof ServerDidNotStartError && error.portTaken && network.mode === 'host' && attempt < PORT_ATTEMPTS) {
        context.log(`provision: ${error.message}; trying another port`);
        continue;
      }
      throw error;
    }
  }
}

type Network = { readonly mode: 'host' } | { readonly mode: 'published'; readonly name: string; readonly bindHost: string | undefined };

async function resolveNetwork(wanted: string, client: ContainerRuntimeClient): Promise<Network> {
  if (wanted === 'host') return { mode: 'host' };
  const docker = client.container.dockerode;
  if (wanted === 'auto') {
    const hasBridge = await docker
      .getNetwork('bridge')
      .inspect()
      .then(() => true, () => false);
    if (!hasBridge) return { mode: 'host' };
    wanted = 'bridge';
  }
  // Publish on the engine host's loopback when that is this machine; a remote engine must publish on all addresses.
  const local = ['localhost', '127.0.0.1', '::1'].includes(client.info.containerRuntime.host);
  return { mode: 'published', name: wanted, bindHost: local ? '127.0.0.1' : undefined };
}

interface StartRequest {
  readonly config: ContainerPostgresConfig;
  readonly context: EnvironmentContext;
  readonly client: ContainerRuntimeClient;
  readonly image: string;
  readonly network: Network;
  readonly password: string;
  readonly label: ResourceLabel;
  readonly name: string;
}

async function startContainer(request: StartRequest): Promise<StartedContainerPostgres> {
  const { config, context, client, image, network, password, label, name } = request;
  const { GenericContainer } = await import('testcontainers');
  const innerPort = network.mode === 'host' ? await freePort() : PUBLISHED_PORT;
  const { cpus, memory } = client.info.containerRuntime;
  const settings = {
    ...containerRestoreSettings({ listen: network.mode === 'host' ? '127.0.0.1' : '*', port: innerPort }, { cpus, memoryBytes: memory }),
    ...config.settings,
  };
  const where = (mapped: (port: number) => number) =>
    network.mode === 'host' ? { host: '127.0.0.1', port: innerPort } : { host: client.info.containerRuntime.host, port: mapped(PUBLISHED_PORT) };
  const credentials = { user: SUPERUSER, password, database: DATABASE };
  const ready = new PostgresReady((bound) => ({ ...where((p) => bound.getBinding(p)), ...credentials }), context.signal);

  const container = new GenericContainer(image)
    .withName(name)
    .withLabels(containerLabels(label))
    .withEnvironment({
      POSTGRES_USER: SUPERUSER,
      POSTGRES_DB: DATABASE,
      // A file, not POSTGRES_PASSWORD: the environment of a container is visible to `docker inspect`.
      POSTGRES_PASSWORD_FILE: `${SECRETS_DIR}/password`,
      // --no-sync: the data directory is thrown away, so initdb need not wait for the disk.
      POSTGRES_INITDB_ARGS: '--auth-local=scram-sha-256 --auth-host=scram-sha-256 --encoding=UTF8 --locale=C --no-sync',
      PGPORT: String(innerPort),
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
  if (network.mode === 'host') container.withNetworkMode('host');
  else {
    container.withNetworkMode(network.name).withExposedPorts(PUBLISHED_PORT);
    if (network.bindHost) publishOn(container, network.bindHost);
  }
  context.log(`provision: starting container ${name} (${network.mode === 'host' ? `host network, 127.0.0.1:${innerPort}` : `network ${network.name}, port ${PUBLISHED_PORT} published`})`);
  const started = await container.start();
  const docker = client.container.getById(started.getId());
  const env = new StartedContainerPostgres(started, docker, where((p) => started.getMappedPort(p)), innerPort, password, context.runId, config.restoreWith ?? 'auto', {
    image,
    container: name,
    network: network.mode === 'host' ? 'host' : network.name,
  });
  try {
    await env.init();
  } catch (error) {
    await env.stop();
    throw error;
  }
  context.log(`provision: PostgreSQL ${env.version} in container ${name} (${image}), listening on ${env.connectionConfig().host}:${env.connectionConfig().port}`);
  return env;
}

/**
 * testcontainers publishes ports on every address; on a local engine the server is only for this machine.
 * Its host config is protected, so this reaches it the way a subclass would.
 */
function publishOn(container: object, hostIp: string): void {
  const hostConfig = (container as { hostConfig: { PortBindings?: Record<string, { HostIp?: string; HostPort: string }[]> } }).hostConfig;
  hostConfig.PortBindings = { [`${PUBLISHED_PORT}/tcp`]: [{ HostIp: hostIp, HostPort: '0' }] };
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

async function removeQuietly(client: ContainerRuntimeClient, name: string): Promise<void> {
  await client.container.dockerode
    .getContainer(name)
    .remove({ force: true, v: true })
    .catch(() => {});
}

class StartedContainerPostgres implements StartedEnvironment {
  readonly kind = 'container';
  readonly database = DATABASE;
  version = '';
  readonly facts: Record<string, string>;
  private stopped = false;

  constructor(
    private readonly started: StartedTestContainer,
    private readonly container: DockerContainer,
    private readonly address: { readonly host: string; readonly port: number },
    private readonly innerPort: number,
    private readonly password: string,
    readonly runId: string,
    private readonly restoreWith: RestoreWith,
    facts: Record<string, string>,
  ) {
    this.facts = { ...facts };
  }

  async init(): Promise<void> {
    const client = new pg.Client(this.connectionConfig('postgres'));
    await client.connect();
    try {
      this.version = (await client.query<{ v: string }>("select current_setting('server_version') as v")).rows[0]!.v.split(' ')[0]!;
      await labelDisposableDatabase(client, DATABASE, this.runId);
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
    return { host: this.address.host, port: this.address.port, user: SUPERUSER, password: this.password };
  }

  async restore(restorable: Restorable, options: RestoreOptions): Promise<void> {
    requirePgDump(restorable, 'container');
    const inside: InsideContainer = { started: this.started, container: this.container, port: this.innerPort, user: SUPERUSER, passFile: `${SECRETS_DIR}/pgpass` };
    await restoreDump(this, inside, restorable.dump, this.restoreWith, options);
  }

  /** Removes the container and its volumes (the official image declares one for PGDATA). */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    try {
      await this.container.remove({ force: true, v: true });
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode !== 404) throw error;
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
  if (leftovers.length) log(`removed ${leftovers.length} leftover container(s) of crashed runs: ${leftovers.map((l) => l.location).join(', ')}`);
  return leftovers.length;
}
