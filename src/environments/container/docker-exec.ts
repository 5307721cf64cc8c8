import { PassThrough } from 'node:stream';
import type { ContainerRuntimeClient } from 'testcontainers';
import { CommandFailedError, InterruptedError } from '../../errors.ts';
import { redact } from '../../util/redact.ts';

/** A container as the engine's API client (dockerode, through testcontainers) sees it. */
export type DockerContainer = ReturnType<ContainerRuntimeClient['container']['dockerode']['getContainer']>;

/** Options of {@link dockerExec}. */
export interface DockerExecOptions {
  /** Environment of the command (never secrets: an exec's environment is visible to `docker inspect`). */
  readonly env?: Record<string, string>;
  readonly user?: string;
  /** Each stderr line as it arrives (redacted), for progress. */
  readonly onStderrLine?: (line: string) => void;
  /** Stops waiting (the command itself ends when the container is removed). */
  readonly signal?: AbortSignal;
  /** What the user can do when the command fails. */
  readonly hint?: string;
}

/**
 * Runs a command inside a running container (`docker exec`) and returns its stdout. Unlike testcontainers'
 * `exec`, stderr is streamed line by line (pg_restore's progress), and a non-zero exit becomes a
 * {@link CommandFailedError} with the redacted stderr tail, like a command run on the host.
 *
 * @example
 * const version = await dockerExec(container, ['pg_restore', '--version']);
 */
export async function dockerExec(
  container: DockerContainer,
  command: readonly string[],
  options: DockerExecOptions = {},
): Promise<string> {
  if (options.signal?.aborted) throw new InterruptedError(options.signal.reason);
  const exec = await container.exec({
    Cmd: [...command],
    AttachStdout: true,
    AttachStderr: true,
    ...(options.env ? { Env: Object.entries(options.env).map(([k, v]) => `${k}=${v}`) } : {}),
    ...(options.user ? { User: options.user } : {}),
  });
  const stream = await exec.start({ Detach: false, Tty: false });
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  // dockerode types its modem as `any`; demuxStream splits the multiplexed exec stream into stdout and stderr.
  const modem = container.modem as {
    demuxStream(stream: NodeJS.ReadableStream, out: NodeJS.WritableStream, err: NodeJS.WritableStream): void;
  };
  modem.demuxStream(stream, stdout, stderr);
  let out = '';
  let tail: string[] = [];
  let pending = '';
  stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  stderr.on('data', (chunk: Buffer) => {
    pending += chunk.toString();
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.trim()) continue;
      tail.push(line);
      if (tail.length > 200) tail = tail.slice(-100);
      options.onStderrLine?.(redact(line));
    }
  });
  await new Promise<void>((resolve, reject) => {
    const onAbort = () => {
      stream.destroy();
      reject(new InterruptedError(options.signal?.reason));
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    stream.on('end', () => {
      options.signal?.removeEventListener('abort', onAbort);
      resolve();
    });
    stream.on('error', (error: Error) => {
      options.signal?.removeEventListener('abort', onAbort);
      reject(error);
    });
  });
  if (pending.trim()) {
    tail.push(pending);
    options.onStderrLine?.(redact(pending));
  }
  const { ExitCode } = await exec.inspect();
  if (ExitCode !== 0) {
    throw new CommandFailedError(
      command[0] ?? 'exec',
      ExitCode ?? null,
      redact(tail.slice(-20).join('\n')),
      options.hint,
    );
  }
  return out;
}
