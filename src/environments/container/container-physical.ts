// A physical restore in the container environment: the local physical restore (../local/physical-restore.ts)
// run unchanged on a cluster whose every step runs in a throw-away container of the image (docker-run-sandbox.ts)
// — the backup laid down into a folder of this machine owned by the image's postgres account, its WAL staged
// there, verified, replayed with --network none — and whose server, once replay promoted it, is the
// environment's container started on that data directory.

import { join } from 'node:path';
import pg from 'pg';
import { ConfigError } from '../../errors.ts';
import { walMarkerManifest, type MarkerManifest } from '../../model/marker.ts';
import type { Restorable } from '../../model/recovery-point.ts';
import type { RestoreOptions, SandboxViolations, StartedEnvironment } from '../environment.ts';
import type { ResourceLabel } from '../labels.ts';
import { confValue } from '../local/local-postgres.ts';
import type { PhysicalCluster } from '../local/physical-cluster.ts';
import { physicalMethodFor } from '../local/physical-methods.ts';
import { restorePhysical } from '../local/physical-restore.ts';
import { SERVER_LOG_SETTINGS } from '../local/sandbox-violations.ts';
import { singleUser } from '../local/single-user.ts';
import { dockerRunSandbox, imageServer, type ImageServer } from './docker-run-sandbox.ts';
import type { SocketDir } from './socket-dir.ts';

/** What the container environment gives its physical restore. */
export interface ContainerPhysicalRequest {
  readonly image: string;
  readonly sockets: SocketDir;
  readonly superuser: string;
  readonly password: string;
  readonly port: number;
  readonly label: ResourceLabel;
  readonly runId: string;
  readonly log: (line: string) => void;
  /** Starts the environment's server container on the restored data directory (a folder of this machine). */
  readonly startServer: (dataDir: string) => Promise<StartedEnvironment>;
  /** Removes every container of this run (the steps' are `--rm`, but a killed step's client leaves its own). */
  readonly removeRunContainers: () => Promise<void>;
}

/**
 * The container environment before and after a physical restore: no server until the backup has been laid
 * down and replayed (a physical backup becomes the data directory), then the environment's own container.
 *
 * @example
 * const env = await startContainerPhysical(request); // provision: the image's account and version
 * await env.restore(restorable, { log }); // lay down, verify, replay in containers, start the server
 */
export async function startContainerPhysical(request: ContainerPhysicalRequest): Promise<StartedEnvironment> {
  if (process.getuid?.() !== 0) {
    throw new ConfigError(
      "a physical restore in the container environment hands the data directory to the image's postgres account, which only root can do",
      "run the drill as root (as CI does), or use localPostgres() of the backup's major version",
    );
  }
  const server = await imageServer(request.image);
  request.log(
    `provision: ${request.image} ships PostgreSQL ${server.bins.version}, postgres is uid ${server.owner.uid}; no initdb: the physical backup becomes its data directory`,
  );
  return new ContainerPhysical(request, server);
}

/** A ConfigError when the restored copy has no database `database` (the source names one). */
async function requireDatabase(server: StartedEnvironment, database: string): Promise<void> {
  const client = new pg.Client(server.connectionConfig('postgres'));
  await client.connect();
  try {
    const { rows } = await client.query<{ d: string }>(
      'select datname as d from pg_database where datallowconn order by 1',
    );
    if (rows.some((row) => row.d === database)) return;
    throw new ConfigError(
      `the physical backup has no database "${database}" (it has ${rows.map((row) => row.d).join(', ')})`,
      "set the source's database to one of them",
    );
  } finally {
    await client.end();
  }
}

class ContainerPhysical implements StartedEnvironment {
  readonly kind = 'container';
  readonly runId: string;
  database = 'postgres';
  version: string;
  facts: Record<string, string | number | boolean | null>;
  manifest: MarkerManifest | undefined;
  private server: StartedEnvironment | undefined;
  private stopped = false;

  constructor(
    private readonly request: ContainerPhysicalRequest,
    private readonly image: ImageServer,
  ) {
    this.runId = request.runId;
    this.version = image.bins.version;
    this.facts = { image: request.image, network: 'none' };
  }

  private get started(): StartedEnvironment {
    if (!this.server) throw new ConfigError('the container environment has no server before its physical restore');
    return this.server;
  }

  connectionConfig(database: string = this.database) {
    return this.started.connectionConfig(database);
  }

  libpqEnv(database: string = this.database): Record<string, string> {
    return this.started.libpqEnv(database);
  }

  async restore(restorable: Restorable, options: RestoreOptions): Promise<void> {
    const physical = physicalMethodFor(restorable);
    if (!physical) {
      throw new ConfigError(
        `this container environment was provisioned for a physical backup and cannot restore a ${restorable.kind} recovery point`,
        'start one environment per drill',
      );
    }
    const result = await restorePhysical(this.cluster(options.signal), physical.method, physical.target, options);
    const server = this.started;
    await requireDatabase(server, physical.database);
    this.facts = { ...this.facts, ...server.facts, ...result.facts };
    this.version = server.version;
    this.database = physical.database;
    if (result.walMarker) this.manifest = walMarkerManifest(result.walMarker, this.version, physical.database);
  }

  /** The cluster as the physical restore sees it: its folders here, every step in a container of the image. */
  private cluster(signal: AbortSignal | undefined): PhysicalCluster {
    const { sockets, superuser, password, port, label, image } = this.request;
    const sandbox = dockerRunSandbox({ image, owner: this.image.owner, label });
    const dataDir = join(sockets.dir, 'data');
    return {
      dir: sockets.dir,
      dataDir,
      socketDir: sockets.socketDir,
      bins: this.image.bins,
      sandbox,
      superuser,
      password,
      // Replay's server listens in the shared folder too (at its path here): never on TCP.
      connectionSettings: {
        listen_addresses: '',
        port,
        unix_socket_directories: sockets.socketDir,
        ...SERVER_LOG_SETTINGS,
        password_encryption: 'scram-sha-256',
      },
      stopServer: async () => {}, // nothing runs before the backup is laid down
      startServer: async () => {
        this.server = await this.request.startServer(dataDir);
      },
      singleUser: (statement) => singleUser(sandbox, this.image.bins, dataDir, statement, signal),
      confValue,
    };
  }

  async sandboxViolations(): Promise<SandboxViolations> {
    if (this.server?.sandboxViolations) return this.server.sandboxViolations();
    return { sandboxed: true, description: `containers of ${this.request.image}, no network`, found: [] };
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    try {
      await this.server?.stop();
    } finally {
      await this.request.removeRunContainers();
      await this.request.sockets.remove();
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}
