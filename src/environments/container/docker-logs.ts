import { redact } from '../../util/redact.ts';
import type { DockerContainer } from './docker-exec.ts';

/**
 * The last `lines` lines a container wrote (stdout and stderr, redacted), e.g. to explain why its server
 * did not start. Empty when the container is gone.
 *
 * @example
 * const tail = await containerLogTail(container, 5); // '… FATAL:  could not create any TCP/IP sockets'
 */
export async function containerLogTail(container: DockerContainer, lines = 20): Promise<string> {
  try {
    const raw = await container.logs({ stdout: true, stderr: true, tail: lines, follow: false });
    return redact(demuxLogs(Buffer.from(raw)).trim());
  } catch {
    return '';
  }
}

/**
 * Everything a container wrote so far (stdout and stderr, not redacted), as lines: the container environment's
 * server log, which has no file of its own. Throws when the engine cannot give it (e.g. the container is gone).
 *
 * @example
 * const lines = await containerLogLines(container); // ['2026-12-02 04:43:36.845 UTC [9] ERROR:  …', …]
 */
export async function containerLogLines(container: DockerContainer): Promise<string[]> {
  const raw = await container.logs({ stdout: true, stderr: true, follow: false });
  return demuxLogs(Buffer.from(raw)).split('\n');
}

/**
 * Without a TTY the engine frames each chunk: 1 byte stream (1 stdout, 2 stderr), 3 zero bytes, a
 * big-endian 32-bit length, then the payload. Unframed output (a TTY container) is returned as is.
 */
export function demuxLogs(raw: Buffer): string {
  const chunks: Buffer[] = [];
  let pos = 0;
  while (pos + 8 <= raw.length) {
    const stream = raw[pos]!;
    if (stream > 2 || raw[pos + 1] !== 0 || raw[pos + 2] !== 0 || raw[pos + 3] !== 0) return raw.toString('utf8');
    const size = raw.readUInt32BE(pos + 4);
    chunks.push(raw.subarray(pos + 8, pos + 8 + size));
    pos += 8 + size;
  }
  return pos === 0 && raw.length > 0 ? raw.toString('utf8') : Buffer.concat(chunks).toString('utf8');
}
