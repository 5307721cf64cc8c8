import { request } from 'node:http';
import type { ContainerRuntimeClient } from 'testcontainers';
import { ConfigError } from '../../errors.ts';

/**
 * No container engine answers (Docker, or Podman's Docker-compatible socket). A {@link ConfigError}
 * (exit 2) whose hint says how to start one or how to use the local environment instead; a container
 * environment with a `fallback` starts that instead when it sees this error.
 */
export class ContainerRuntimeUnavailableError extends ConfigError {}

/** How long finding the engine may take: a `tcp://` DOCKER_HOST that drops packets would hang forever. */
const CONNECT_TIMEOUT_MS = 20_000;

/**
 * The container engine testcontainers finds (DOCKER_HOST, `~/.testcontainers.properties`, the default
 * sockets), or a {@link ContainerRuntimeUnavailableError} saying in one line that none answers and what to
 * do. testcontainers is loaded on first use, so commands that never touch containers don't pay for it.
 *
 * @example
 * const client = await containerRuntime();
 * client.info.containerRuntime.serverVersion; // e.g. '20.10.24+dfsg1'
 */
export async function containerRuntime(): Promise<ContainerRuntimeClient> {
  const { getContainerRuntimeClient } = await import('testcontainers');
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${CONNECT_TIMEOUT_MS / 1000}s`)), CONNECT_TIMEOUT_MS);
    timer.unref();
  });
  try {
    return await Promise.race([getContainerRuntimeClient(), timeout]);
  } catch (error) {
    if (!(await hostOnlyEngine())) throw await runtimeUnavailable(error);
    // Inside a container, testcontainers finds the engine's address through its default bridge network.
    // An engine without one (dockerd --bridge=none) reaches containers through host networking only, at
    // localhost: say so and ask again.
    process.env.TESTCONTAINERS_HOST_OVERRIDE = 'localhost';
    try {
      return await Promise.race([getContainerRuntimeClient(), timeout]);
    } catch (again) {
      throw await runtimeUnavailable(again);
    }
  } finally {
    clearTimeout(timer);
  }
}

/** Whether the engine on the local socket answers and has no default bridge network (and no host override is set). */
async function hostOnlyEngine(): Promise<boolean> {
  const socket = socketPath(process.env.DOCKER_HOST);
  if (!socket || process.env.TESTCONTAINERS_HOST_OVERRIDE !== undefined) return false;
  return (await apiStatus(socket, '/_ping')) === 200 && (await apiStatus(socket, '/networks/bridge')) === 404;
}

async function runtimeUnavailable(cause: unknown): Promise<ContainerRuntimeUnavailableError> {
  const socket = socketPath(process.env.DOCKER_HOST);
  if (socket && (await apiStatus(socket, '/_ping')) === 200) {
    // The engine is there; testcontainers could not set itself up (e.g. in a container, it looks for the
    // engine's default bridge network to find the address of published ports).
    return new ContainerRuntimeUnavailableError(
      `the container engine at ${socket} answers, but testcontainers cannot use it`,
      'run with DEBUG=testcontainers* to see why; inside a container whose engine has no default bridge network, set TESTCONTAINERS_HOST_OVERRIDE=localhost',
    );
  }
  const where = process.env.DOCKER_HOST
    ? `at DOCKER_HOST=${process.env.DOCKER_HOST}`
    : 'at the default sockets (/var/run/docker.sock, the rootless and Podman sockets; DOCKER_HOST is not set)';
  const detail =
    cause instanceof Error && !/Could not find a working container runtime strategy/.test(cause.message)
      ? ` (${cause.message})`
      : '';
  return new ContainerRuntimeUnavailableError(
    `no container runtime reachable ${where}${detail}`,
    'start Docker or set DOCKER_HOST to a running engine — or restore into the local environment instead: ' +
      'localPostgres() in the drill, `check --environment local`, or allow the fallback with containerPostgres({ fallback: localPostgres() }) / `check --fallback-local`',
  );
}

/** The unix socket DOCKER_HOST names, or the default one when it is not set; null for tcp and others. */
function socketPath(dockerHost: string | undefined): string | null {
  if (!dockerHost) return '/var/run/docker.sock';
  return dockerHost.startsWith('unix://') ? dockerHost.slice('unix://'.length) : null;
}

/** The HTTP status of `GET path` on a Docker API unix socket, or 0 when nothing answers within two seconds. */
function apiStatus(socketPath: string, path: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request({ socketPath, path, timeout: 2_000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
    req.end();
  });
}
