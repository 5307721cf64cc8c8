import type { StartedEnvironment } from '../environments/environment.ts';
import type { CheckResult } from '../model/report.ts';
import { redact } from '../util/redact.ts';

/** Name of the check that reports what the restore sandbox blocked. */
export const SANDBOX_CHECK = 'restore sandbox';

/**
 * The `restore sandbox` check of an environment that has a sandbox (none for one that has not): failed when
 * code in the backup tried to run a program, reach a file outside the server's data directory or connect
 * somewhere — naming the object whose code it was; skipped, saying so, when the restore was not sandboxed.
 * A pass claims only what the server log shows: code that hid its own errors was confined but is not seen.
 * Nothing blocked in a drill that did not complete (a failed restore, an interrupt) is skipped, not passed:
 * part of the backup never ran.
 */
export async function sandboxCheck(env: StartedEnvironment, completed: boolean): Promise<CheckResult | null> {
  if (!env.sandboxViolations) return null;
  let seen;
  try {
    seen = await env.sandboxViolations();
  } catch (error) {
    return {
      name: SANDBOX_CHECK,
      status: 'failed',
      expected: 'no blocked attempt',
      actual: null,
      detail: redact(`the server log could not be read: ${(error as Error).message}`),
    };
  }
  // A log too large to scan whole cannot vouch for its unread part: that fails the check too, saying so.
  const unscanned = seen.unscanned ? `; ${seen.unscanned}, so a blocked attempt there would not be seen` : '';
  if (seen.found.length) {
    const attempts = seen.found.map((v) => `${v.attempt} in ${v.object}${v.message ? ` ("${v.message}")` : ''}`);
    return {
      name: SANDBOX_CHECK,
      status: 'failed',
      expected: 'no blocked attempt',
      actual: `${seen.found.length} blocked`,
      detail: redact(
        `the backup contains code that tried to ${attempts.join('; and to ')}${seen.sandboxed ? ' — blocked by the restore sandbox' : ''}${unscanned}`,
      ),
    };
  }
  if (!seen.sandboxed) {
    return {
      name: SANDBOX_CHECK,
      status: 'skipped',
      expected: 'no blocked attempt',
      actual: null,
      detail: `restore was not sandboxed (${seen.description}): code in the backup could run programs, read files and use the network of this host unobserved`,
    };
  }
  if (seen.unscanned) {
    return {
      name: SANDBOX_CHECK,
      status: 'failed',
      expected: 'no blocked attempt',
      actual: 'log not wholly scanned',
      detail: `none in the part of the server log that was scanned${unscanned}`,
    };
  }
  if (!completed) {
    return {
      name: SANDBOX_CHECK,
      status: 'skipped',
      expected: 'no blocked attempt',
      actual: null,
      detail: 'skipped: the drill did not complete (no blocked attempt in the server log so far)',
    };
  }
  return {
    name: SANDBOX_CHECK,
    status: 'passed',
    expected: 'no blocked attempt',
    actual: 'none in the server log',
    detail: `restored and verified in the sandbox (${seen.description}); code that catches its own errors would leave no trace but stays confined`,
  };
}
