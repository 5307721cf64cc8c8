import { findPgBinaries, SERVER_TOOLS } from '../../postgres/pg-binaries.ts';
import { containerRuntime } from './docker-runtime.ts';

/** Whether the container tests can run here, and if not, why. */
export interface ContainerEngineProbe {
  readonly available: boolean;
  /** Why the tests skip (empty when available). */
  readonly reason: string;
  /** The image the tests' dumps map to: `postgres:<major of the local PostgreSQL that makes them>`. */
  readonly image: string;
}

/**
 * Probes the container engine for the container tests. Ryuk is disabled, here and in child processes
 * (its image cannot be pulled without a registry; our labels and `cleanup` do its job). When the engine
 * or the image is missing, the reason is printed, so a skipped test is never silent.
 *
 * @example
 * const engine = await probeContainerEngine();
 * describe.skipIf(!engine.available)(`container${engine.reason}`, () => { … });
 */
export async function probeContainerEngine(): Promise<ContainerEngineProbe> {
  process.env.TESTCONTAINERS_RYUK_DISABLED ??= 'true';
  const image = `postgres:${findPgBinaries({ tools: SERVER_TOOLS }).major}`;
  let reason = '';
  try {
    const client = await containerRuntime();
    const { ImageName } = await import('testcontainers');
    if (!(await client.image.exists(ImageName.fromString(image)))) {
      reason = `image ${image} is not on the engine (fixtures/container-image/build.sh builds a stand-in offline)`;
    }
  } catch (error) {
    reason = `${(error as Error).message} (.ci/setup-docker.sh starts one)`;
  }
  if (reason) process.stderr.write(`container tests skipped: ${reason}\n`);
  return { available: !reason, reason: reason ? ` (skipped: ${reason})` : '', image };
}
