import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** What one `restore-drill` invocation printed and returned. */
export interface CliOutcome {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * A DOCKER_HOST nothing listens on: for tests that run `cleanup` but do not test containers, so they never
 * remove another test file's container (container-leftovers.test.ts tests that part).
 */
export const NO_ENGINE = 'unix:///nonexistent/restore-drill-test-docker.sock';

export const BIN = fileURLToPath(new URL('../../bin/restore-drill.js', import.meta.url));

/**
 * Runs the real `restore-drill` command in a child process, as a user would.
 * `onStderr` sees stderr as it arrives (e.g. to send a signal once a phase has started).
 */
export function runCli(
  args: readonly string[],
  options: {
    env?: Record<string, string | undefined>;
    cwd?: string;
    onStderr?: (text: string, child: ReturnType<typeof spawn>) => void;
  } = {},
): Promise<CliOutcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: options.cwd,
      env: { ...process.env, ...options.env, NODE_NO_WARNINGS: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => {
      stderr += d;
      options.onStderr?.(stderr, child);
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** True when the text looks like a stack trace (which user mistakes must never print). */
export function hasStackTrace(text: string): boolean {
  return /\n\s+at .+:\d+:\d+/.test(text);
}
