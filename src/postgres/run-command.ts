import { spawn } from 'node:child_process';
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

/** What a finished command printed and how it ended. */
export interface CommandOutput {
  readonly stdout: string;
  readonly stderr: string;
  /** null when a signal ended it. */
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
}

/**
 * Runs an external tool with its arguments as an array, straight (no shell: nothing is ever parsed as a
 * command line). A non-zero exit becomes a {@link CommandFailedError} carrying the redacted stderr tail; a
 * binary that does not exist exits 127, as a shell would say. Aborting `signal` ends the command's whole
 * process group (it gets one of its own), then throws {@link InterruptedError}.
 *
 * @example
 * const { stdout } = await runCommand(pg.path('pg_restore'), ['--list', dump], { signal });
 */
export async function runCommand(
  binary: string,
  args: readonly string[],
  options: RunOptions = {},
): Promise<CommandOutput> {
  const { user, signal } = options;
  if (signal?.aborted) throw new InterruptedError(signal.reason);
  // Spawned directly rather than through zx's `$`, which started a bash for every command: ≈ 15 ms more
  // per command, about a dozen commands per drill (docs/performance.md).
  const running = new Promise<CommandOutput>((resolve, reject) => {
    const child = spawn(binary, args, {
      cwd: options.cwd ?? (user ? '/' : process.cwd()),
      env: options.inheritEnv === false ? { ...options.env } : { ...process.env, ...options.env },
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      detached: true,
      ...(user ? { uid: user.uid, gid: user.gid } : {}),
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let pending = '';
    child.stdout!.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr.push(chunk);
      if (!options.onStderrLine) return;
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) if (line.trim()) options.onStderrLine(redact(line));
    });
    if (options.input !== undefined) {
      // A command that exits without reading its input closes the pipe: not an error of ours.
      child.stdin!.on('error', () => {});
      child.stdin!.end(options.input);
    }
    const abort = () => {
      try {
        process.kill(-child.pid!, 'SIGTERM');
      } catch {
        child.kill('SIGTERM');
      }
    };
    signal?.addEventListener('abort', abort, { once: true });
    child.once('error', (error: NodeJS.ErrnoException) => {
      signal?.removeEventListener('abort', abort);
      if (error.code === 'ENOENT')
        resolve({ stdout: '', stderr: `${binary}: command not found\n`, exitCode: 127, signal: null });
      else reject(error);
    });
    child.once('close', (code, killedBy) => {
      signal?.removeEventListener('abort', abort);
      resolve({
        stdout: Buffer.concat(stdout).toString(),
        stderr: Buffer.concat(stderr).toString(),
        exitCode: code,
        signal: killedBy,
      });
    });
  });
  let output: CommandOutput;
  try {
    output = await running;
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
