import { rm } from 'node:fs/promises';
import type { StartedEnvironment } from '../../environments/environment.ts';
import { describeError } from '../describe-error.ts';
import type { DrillSetup } from '../run-setup.ts';

/**
 * `teardown`: closes the evidence store, stops and removes the environment and the work directory. Runs
 * always, after the report, so the report cannot be lost to a teardown problem.
 */
export async function teardown(setup: DrillSetup, env: StartedEnvironment | undefined): Promise<void> {
  setup.evidence?.destroy();
  await env?.stop().catch((error: unknown) => setup.log(`teardown: ${describeError(error)}`));
  await rm(setup.workDir, { recursive: true, force: true });
}
