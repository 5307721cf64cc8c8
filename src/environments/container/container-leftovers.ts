import { hostname } from 'node:os';
import { labelFromContainer, OWNER_LABEL } from './container-labels.ts';
import { containerRuntime, ContainerRuntimeUnavailableError } from './docker-runtime.ts';
import { processAlive } from '../../util/process-alive.ts';
import type { Leftover, LeftoverOptions } from '../leftover.ts';

/** A container left by a crashed run. */
export interface ContainerLeftover extends Leftover {
  readonly containerId: string;
}

/** What {@link findContainerLeftovers} found, or why it could not look. */
export interface ContainerLeftovers {
  readonly leftovers: ContainerLeftover[];
  /** Set when no container runtime is reachable: containers were not checked, and why. */
  readonly notChecked?: string;
}

/**
 * Finds containers left by crashed runs: containers (running or not) carrying the label
 * `restore-drill.owner=restore-drill` whose owner process is gone — judged only on the host that started
 * them, as an engine may be shared — or, with `olderThanSeconds`, that are that old. A container without
 * our label is never touched, whatever its name. No container runtime is not an error here: nothing to check.
 *
 * @example
 * const { leftovers } = await findContainerLeftovers();
 * for (const leftover of leftovers) await removeContainerLeftover(leftover);
 */
export async function findContainerLeftovers(
  options: Pick<LeftoverOptions, 'olderThanSeconds'> = {},
): Promise<ContainerLeftovers> {
  let client;
  try {
    client = await containerRuntime();
  } catch (error) {
    if (error instanceof ContainerRuntimeUnavailableError) return { leftovers: [], notChecked: error.message };
    throw error;
  }
  const containers = await client.container.dockerode.listContainers({ all: true, filters: { label: [OWNER_LABEL] } });
  const here = hostname();
  const found: ContainerLeftover[] = [];
  for (const container of containers) {
    const label = labelFromContainer(container.Labels);
    if (!label) continue;
    const location = (container.Names[0] ?? container.Id).replace(/^\//, '');
    const ageSeconds = (Date.now() - Date.parse(label.createdAt)) / 1000;
    const ownerGone = label.ownerHost === here && !processAlive(label.ownerPid);
    const base = { kind: label.kind, location, label, containerId: container.Id };
    if (ownerGone && (options.olderThanSeconds === undefined || ageSeconds >= options.olderThanSeconds)) {
      found.push({ ...base, reason: `owner process ${label.ownerPid} is gone` });
    } else if (options.olderThanSeconds !== undefined && ageSeconds >= options.olderThanSeconds) {
      const owner =
        label.ownerHost === here
          ? `process ${label.ownerPid}`
          : `process ${label.ownerPid} on ${label.ownerHost || 'another host'}`;
      found.push({ ...base, reason: `older than the limit (${Math.round(ageSeconds)}s; owner ${owner})` });
    }
  }
  return { leftovers: found };
}

/**
 * Removes a leftover container with its volumes; one already gone counts as removed. Two drills that start
 * at once both sweep leftovers: when the other one's removal is in progress (Docker answers 409), this waits
 * for the container to be gone rather than reporting a failure that is not one.
 */
export async function removeContainerLeftover(leftover: ContainerLeftover): Promise<void> {
  const client = await containerRuntime();
  const container = client.container.dockerode.getContainer(leftover.containerId);
  try {
    await container.remove({ force: true, v: true });
    return;
  } catch (error) {
    const { statusCode, message } = error as { statusCode?: number; message?: string };
    if (statusCode === 404) return;
    if (statusCode !== 409 || !/already in progress/.test(message ?? '')) throw error;
  }
  for (let attempt = 0; attempt < REMOVAL_WAIT_ATTEMPTS; attempt++) {
    try {
      await container.inspect();
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode === 404) return;
      throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`container ${leftover.location} was still being removed after ${REMOVAL_WAIT_ATTEMPTS / 4} s`);
}

/** How long (in 250 ms steps) to wait for another drill's removal of the same container. */
const REMOVAL_WAIT_ATTEMPTS = 120;
