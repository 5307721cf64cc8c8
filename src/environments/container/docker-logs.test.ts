import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { scanServerLogStream } from '../local/sandbox-violations.ts';
import { probeContainerEngine, type ContainerEngineProbe } from './container-engine.testkit.ts';
import type { DockerContainer } from './docker-exec.ts';
import { containerLogStream, containerLogTail, demuxLogStream } from './docker-logs.ts';
import { containerRuntime } from './docker-runtime.ts';

/** The engine's framing: stream byte, three zeros, a big-endian length, the payload. */
function frame(stream: 1 | 2, text: string): Buffer {
  const payload = Buffer.from(text);
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

async function* chunksOf(bytes: Buffer, size: number) {
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
}

async function text(chunks: AsyncIterable<Buffer>): Promise<string> {
  const parts: Buffer[] = [];
  for await (const chunk of chunks) parts.push(chunk);
  return Buffer.concat(parts).toString();
}

test('framed stdout and stderr come out in order, whatever the chunks cut (a header, a payload)', async () => {
  const framed = Buffer.concat([frame(2, 'ERROR:  one\n'), frame(1, 'ready\n'), frame(2, 'ERROR:  two\n')]);
  for (const size of [1, 3, 7, 9, 1000])
    expect(await text(demuxLogStream(chunksOf(framed, size)))).toBe('ERROR:  one\nready\nERROR:  two\n');
});

test('unframed output (a TTY container) passes as it is, also when shorter than a header', async () => {
  expect(await text(demuxLogStream(chunksOf(Buffer.from('LOG:  hello\nsecond line\n'), 5)))).toBe(
    'LOG:  hello\nsecond line\n',
  );
  expect(await text(demuxLogStream(chunksOf(Buffer.from('hi'), 1)))).toBe('hi');
});

let engine: ContainerEngineProbe;
let container: DockerContainer | undefined;
beforeAll(async () => {
  engine = await probeContainerEngine();
}, 60_000);
afterAll(async () => {
  await container?.remove({ force: true });
});

describe('a container whose log is flooded', () => {
  test('is read as a stream within the bound: the attempt before the flood is found, the rest said unscanned', async ({
    skip,
  }) => {
    if (!engine.available) skip(engine.reason);
    const client = await containerRuntime();
    // 4 MB of warnings after one blocked attempt, as code in a backup could write them; no network.
    const script = [
      `echo '2026-12-02 04:43:36.845 UTC [9] ERROR:  could not execute command "id": No such file or directory' >&2`,
      `yes '2026-12-02 04:43:36.845 UTC [9] WARNING:  noise noise noise noise noise noise noise' | head -c 4000000 >&2`,
    ].join('; ');
    container = await client.container.dockerode.createContainer({
      Image: engine.image,
      Entrypoint: ['sh', '-c', script],
      HostConfig: { NetworkMode: 'none' },
    });
    await container.start();
    await container.wait();
    const scanned = await scanServerLogStream(containerLogStream(container), [], { maxBytes: 256 * 1024 });
    expect(scanned.found.map((v) => v.attempt)).toEqual(['run a program (id)']);
    expect(scanned.unscanned).toMatch(/^the server log is larger than 262144 bytes \(a flood of messages\)/);
    // The tail streams too: the last two lines (head -c cut the very last one short).
    const tail = (await containerLogTail(container, 2)).split('\n');
    expect(tail).toHaveLength(2);
    expect(tail[0]).toBe('2026-12-02 04:43:36.845 UTC [9] WARNING:  noise noise noise noise noise noise noise');
  }, 60_000);
});
