// The container environment's sandbox for the steps of a physical restore (extracting a tar, pg_verifybackup,
// pg_waldump, WAL replay, single-user mode): each runs in a throw-away container of the environment's image,
// with no network, as the image's postgres account, seeing only the folders it is given — the same contract
// as the local bubblewrap sandbox (../local/sandbox.ts), so the local physical restore runs unchanged on it.

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { ConfigError } from '../../errors.ts';
import type { OsUser } from '../../postgres/run-command.ts';
import type { PgBinaries } from '../../postgres/pg-binaries.ts';
import type { ServerSandbox } from '../local/sandbox.ts';
import { containerLabels } from './container-labels.ts';
import type { ResourceLabel } from '../labels.ts';

/** What a container sandbox runs: an image, as its postgres account, labelled as the drill's. */
export interface DockerRunSandboxOptions {
  readonly image: string;
  /** The image's postgres account: it owns the data directory on this machine too. */
  readonly owner: OsUser;
  readonly label: ResourceLabel;
  /** The docker CLI (default: `docker` on PATH). */
  readonly docker?: string;
}

/**
 * A {@link ServerSandbox} whose commands run in `docker run --rm --network none` of the image, each given
 * path bind-mounted at the same path (read-only unless writable), labelled so a killed run's leftovers are
 * found by `cleanup`. The binary is the container's entrypoint: the image's own init never runs.
 *
 * @example
 * const sandbox = dockerRunSandbox({ image: 'postgres:15', owner: { name: 'postgres', uid: 999, gid: 999 }, label });
 * sandbox.command('server', '/usr/lib/postgresql/15/bin/postgres', ['-D', dataDir], { writable: [dataDir] });
 */
export function dockerRunSandbox(options: DockerRunSandboxOptions): ServerSandbox {
  const { image, owner, label } = options;
  const labels = Object.entries(containerLabels(label)).flatMap(([key, value]) => ['--label', `${key}=${value}`]);
  return {
    mechanism: 'container',
    owner,
    description: `container of ${image} per step: no network, as ${owner.name} (uid ${owner.uid}), only the cluster's folders mounted`,
    command(_profile, binary, args, paths) {
      const mounts = [
        ...paths.writable.flatMap((path) => ['--volume', `${path}:${path}:rw`]),
        ...(paths.readable ?? []).flatMap((path) => ['--volume', `${path}:${path}:ro`]),
      ];
      return {
        file: options.docker ?? 'docker',
        args: [
          'run',
          '--rm',
          '--interactive',
          '--name',
          `${label.runId}-${randomBytes(4).toString('hex')}`,
          '--network',
          'none',
          '--user',
          `${owner.uid}:${owner.gid}`,
          ...labels,
          ...mounts,
          '--entrypoint',
          binary,
          image,
          ...args,
        ],
        env: dockerClientEnv(),
        user: null,
      };
    },
  };
}

/**
 * What the docker CLI needs of this process's environment to reach the engine (nothing reaches the container:
 * `docker run` passes no variable it is not told to).
 */
function dockerClientEnv(): Record<string, string> {
  const names = [
    'PATH',
    'HOME',
    'DOCKER_HOST',
    'DOCKER_CONFIG',
    'DOCKER_CONTEXT',
    'DOCKER_CERT_PATH',
    'DOCKER_TLS_VERIFY',
  ];
  return Object.fromEntries(names.flatMap((name) => (process.env[name] ? [[name, process.env[name]]] : [])));
}

/** The image's postgres account and its PostgreSQL binaries (paths inside the image). */
export interface ImageServer {
  readonly owner: OsUser;
  readonly bins: PgBinaries;
}

/**
 * The image's postgres account and the PostgreSQL version it ships, asked of the image itself (the official
 * image's postgres is uid 999, a Debian-packaged one's is not). Needs the docker CLI.
 *
 * @example
 * await imageServer('postgres:15'); // { owner: { name: 'postgres', uid: 999, gid: 999 }, bins: { major: 15, … } }
 */
export async function imageServer(image: string, docker = 'docker'): Promise<ImageServer> {
  let output: string;
  try {
    const script =
      'id -u postgres; id -g postgres; postgres --version; dirname "$(readlink -f "$(command -v postgres)")"';
    output = (
      await promisify(execFile)(
        docker,
        ['run', '--rm', '--network', 'none', '--entrypoint', 'sh', image, '-c', script],
        {
          encoding: 'utf8',
          env: dockerClientEnv(),
          timeout: 120_000,
        },
      )
    ).stdout;
  } catch (error) {
    const stderr = ((error as { stderr?: string }).stderr || (error as Error).message).trim();
    throw new ConfigError(
      `cannot read the postgres account and version of the image ${image} with the docker CLI: ${stderr.split('\n').at(-1) ?? ''}`,
      'a physical restore in the container environment runs the docker CLI (install it) and an image like the official postgres one (a postgres account, postgres on PATH)',
    );
  }
  const [uid, gid, versionLine, binDir] = output.trim().split('\n');
  const version = /\(PostgreSQL\)\s+(\d+(?:\.\d+)?)/.exec(versionLine ?? '')?.[1];
  if (!version || !binDir?.startsWith('/') || !/^\d+$/.test(uid ?? '') || !/^\d+$/.test(gid ?? '')) {
    throw new ConfigError(
      `the image ${image} has no postgres account or no postgres on PATH (${output.trim().replace(/\n/g, ' / ')})`,
      'use an image like the official postgres one',
    );
  }
  return {
    owner: { name: 'postgres', uid: Number(uid), gid: Number(gid) },
    bins: { binDir, version, major: Number(version.split('.')[0]), path: (tool) => `${binDir}/${tool}` },
  };
}
