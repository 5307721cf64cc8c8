import type { Environment } from '../environments/environment.ts';
import { findLocalLeftovers, removeLocalLeftover } from '../environments/local/leftovers.ts';
import { describeError } from './describe-error.ts';

/**
 * Removes local clusters and work dirs of crashed runs (owner process gone) before starting, and what the
 * drill's environment kind left (containers, RDS instances), so a crash never piles up disk, processes or
 * cloud cost, even when nobody runs `restore-drill cleanup`. Best effort: problems are logged, never thrown.
 */
export async function removeCrashLeftovers(environment: Environment, log: (line: string) => void): Promise<void> {
  try {
    const removed: string[] = [];
    for (const leftover of await findLocalLeftovers()) {
      // One that cannot be removed (swapped for a symlink meanwhile) does not keep the others.
      await removeLocalLeftover(leftover).then(
        () => removed.push(leftover.location),
        (error: unknown) => log(`could not remove a leftover of a crashed run: ${describeError(error)}`),
      );
    }
    if (removed.length) log(`removed ${removed.length} leftover(s) of crashed runs: ${removed.join(', ')}`);
  } catch (error) {
    log(`could not remove leftovers of crashed runs: ${describeError(error)}`);
  }
  try {
    await environment.removeLeftovers?.({ log });
  } catch (error) {
    log(`could not remove ${environment.kind} leftovers of crashed runs: ${describeError(error)}`);
  }
}
