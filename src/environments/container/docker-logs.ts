import type { Readable } from 'node:stream';
import { redact } from '../../util/redact.ts';
import { boundedLines } from '../../util/bounded-lines.ts';
import type { DockerContainer } from './docker-exec.ts';

/** A log tail explains a failed start: a few lines, never more than this. */
const TAIL_BYTES = 64 * 1024;

/**
 * The last `lines` lines a container wrote (stdout and stderr, redacted, at most 64 KiB), e.g. to explain why
 * its server did not start. Empty when the container is gone.
 *
 * @example
 * const tail = await containerLogTail(container, 5); // '… FATAL:  could not create any TCP/IP sockets'
 */
export async function containerLogTail(container: DockerContainer, lines = 20): Promise<string> {
  try {
    const kept: string[] = [];
    const log = containerLogStream(container, { tail: lines });
    for await (const line of boundedLines(log, { maxBytes: TAIL_BYTES, maxLineBytes: 4096 })) kept.push(line);
    return redact(kept.join('\n').trim());
  } catch {
    return '';
  }
}

/** Options of {@link containerLogStream}. */
export interface ContainerLogOptions {
  /** Only the last this many lines (the engine's `tail`); default all. */
  readonly tail?: number;
  /** The engine must have sent it all within this; default 60 s. */
  readonly timeoutMs?: number;
}

/**
 * Everything a container wrote so far (stdout and stderr in order, not redacted), as it arrives from the
 * engine: the container environment's server log, which has no file of its own. Streamed, never held whole —
 * code in a backup can make it as large as the container's disk — so read it through {@link boundedLines};
 * stopping early closes the connection. Throws when the engine cannot give it (e.g. the container is gone)
 * or has not sent it all within the timeout (it is read after the drill's phases, where no abort signal reaches).
 *
 * @example
 * for await (const line of boundedLines(containerLogStream(container))) scan(line);
 */
export async function* containerLogStream(
  container: DockerContainer,
  options: ContainerLogOptions = {},
): AsyncGenerator<Buffer> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  // dockerode buffers the whole log unless it follows; asked directly, the engine's answer is a stream.
  const modem = container.modem as {
    dial(options: object, callback: (error: Error | null, stream?: Readable) => void): void;
  };
  const stream = await new Promise<Readable>((resolve, reject) =>
    modem.dial(
      {
        path: `/containers/${container.id}/logs?`,
        method: 'GET',
        isStream: true,
        statusCodes: { 200: true, 404: 'no such container', 500: 'server error' },
        options: { stdout: true, stderr: true, follow: false, ...(options.tail ? { tail: options.tail } : {}) },
      },
      (error, answer) => (error || !answer ? reject(error ?? new Error('no answer')) : resolve(answer)),
    ),
  );
  const timer = setTimeout(
    () => stream.destroy(new Error(`the container engine did not return the log within ${timeoutMs / 1000} s`)),
    timeoutMs,
  );
  try {
    yield* demuxLogStream(stream);
  } finally {
    clearTimeout(timer);
    stream.destroy();
  }
}

/**
 * Without a TTY the engine frames each chunk: 1 byte stream (1 stdout, 2 stderr), 3 zero bytes, a big-endian
 * 32-bit length, then the payload. Yields the payloads as they arrive (a frame is not waited for whole);
 * unframed output (a TTY container) passes as it is.
 *
 * @example
 * for await (const bytes of demuxLogStream(stream)) process.stdout.write(bytes);
 */
export async function* demuxLogStream(stream: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  let header = Buffer.alloc(0);
  let remaining = 0;
  let framed: boolean | undefined;
  for await (const chunk of stream) {
    if (framed === false) {
      yield chunk;
      continue;
    }
    let pos = 0;
    while (pos < chunk.length) {
      if (remaining > 0) {
        const take = Math.min(remaining, chunk.length - pos);
        yield chunk.subarray(pos, pos + take);
        pos += take;
        remaining -= take;
        continue;
      }
      const need = Math.min(8 - header.length, chunk.length - pos);
      header = Buffer.concat([header, chunk.subarray(pos, pos + need)]);
      pos += need;
      if (header.length < 8) continue;
      if (framed === undefined) framed = header[0]! <= 2 && header[1] === 0 && header[2] === 0 && header[3] === 0;
      if (!framed) {
        yield Buffer.concat([header, chunk.subarray(pos)]);
        break;
      }
      remaining = header.readUInt32BE(4);
      header = Buffer.alloc(0);
    }
  }
  // Fewer than 8 bytes in all: too short for a frame, so unframed text.
  if (framed === undefined && header.length > 0) yield header;
}
