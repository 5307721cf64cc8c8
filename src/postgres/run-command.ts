import { spawn as nodeSpawn, type SpawnOptions } from 'node:child_process';
import { $, type ProcessOutput } from 'zx/core';
import { CommandFailedError, InterruptedError } from '../errors.ts';
import { redact } from '../util/redact.ts';

/** An operating-system user to run a command as (PostgreSQL refuses to run as root). */
export interface OsUser {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
}

export interface RunOptions {
  /** Extra environment variables, e.g. libpq's PGPASSWORD (never put secrets in arguments). */
  readonly env?: Record<string, string>;
  /**
   * false: the command gets only {@link env}, nothing of this process's environment (for tools that must not
   * see restore-drill's secrets, like a sandboxed PostgreSQL). Default true.
   */
  readonly inheritEnv?: boolean;
  readonly cwd?: string;
  readonly user?: OsUser | null;
  readonly signal?: AbortSignal;
  /** Called with each stderr line as it arrives (already redacted), for progress. */
  readonly onStderrLine?: (line: string) => void;
  readonly hint?: string;
  /** Written to the command's stdin, which is then closed (for secrets that must not be in arguments). */
  readonly input?: string;
  /** Exit codes besides 0 that are not a failure (pg_waldump exits 1 where the WAL ends). */
  readonly acceptExitCodes?: readonly number[];
}

/**
 * Runs an external PostgreSQL tool through zx (arguments are quoted for us, never concatenated into
 * a shell line). A non-zero exit becomes a {@link CommandFailedError} carrying the redacted stderr tail.
 */
export async function runCommand(
  binary: string,
  args: readonly string[],
  options: RunOptions = {},
): Promise<ProcessOutput> {
  const { user, signal } = options;
  const spawn = user
    ? (((command: string, spawnArgs: readonly string[], spawnOptions: SpawnOptions) =>
        nodeSpawn(command, spawnArgs, { ...spawnOptions, uid: user.uid, gid: user.gid })) as typeof nodeSpawn)
    : nodeSpawn;
  if (signal?.aborted) throw new InterruptedError(signal.reason);
  const shell = $({
    quiet: true,
    nothrow: true,
    verbose: false,
    cwd: options.cwd ?? (user ? '/' : process.cwd()),
    env: options.inheritEnv === false ? { ...options.env } : { ...process.env, ...options.env },
    spawn,
    signal,
  });
  const child = shell`${binary} ${args}`;
  if (options.input !== undefined) child.stdin.end(options.input);
  if (options.onStderrLine) {
    let pending = '';
    child.stderr.on('data', (chunk: Buffer) => {
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) if (line.trim()) options.onStderrLine!(redact(line));
    });
  }
  let output: ProcessOutput;
  try {
    output = await child;
  } catch (error) {
    if (signal?.aborted) throw new InterruptedError(signal.reason);
    throw error;
  }
  if (signal?.aborted) throw new InterruptedError(signal.reason);
  if (output.exitCode !== 0 && !options.acceptExitCodes?.includes(output.exitCode ?? -1)) {
    const name = binary.split('/').pop() ?? binary;
    const tail = redact(output.stderr.trim().split('\n').slice(-20).join('\n'));
    throw new CommandFailedError(name, output.exitCode, tail, options.hint);
  }
  return output;
}
