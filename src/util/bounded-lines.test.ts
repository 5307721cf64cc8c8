import { expect, test } from 'vitest';
import { boundedLines } from './bounded-lines.ts';

async function collect(lines: AsyncIterable<string>): Promise<string[]> {
  const all: string[] = [];
  for await (const line of lines) all.push(line);
  return all;
}

test('lines split across chunks, a character split across chunks and a last line without an end come out whole', async () => {
  const euro = Buffer.from('€');
  const chunks = [
    Buffer.from('first li'),
    Buffer.from('ne\r\nsecond '),
    euro.subarray(0, 1),
    euro.subarray(1),
    '\nlast',
  ];
  const lines = boundedLines(
    (async function* () {
      yield* chunks;
    })(),
  );
  expect(await collect(lines)).toEqual(['first line', 'second €', 'last']);
  expect(lines.stopped).toBe(false);
  expect(lines.cutLines).toBe(0);
});

test('a flood stops at the byte bound, closes its source and says so; an endless line is cut, not held', async () => {
  let produced = 0;
  let closed = false;
  // A backup's flood: a line 10 KB long, then 1 KB warnings without end.
  async function* flood() {
    try {
      yield Buffer.alloc(10_000, 'y');
      for (;;) {
        produced += 1;
        yield Buffer.from(`2026-12-02 04:43:36.845 UTC [9] WARNING:  ${'x'.repeat(1000)}\n`);
      }
    } finally {
      closed = true;
    }
  }
  const lines = boundedLines(flood(), { maxLineBytes: 100, maxBytes: 50_000 });
  const all = await collect(lines);
  expect(lines.stopped).toBe(true);
  expect(closed).toBe(true);
  expect(lines.bytesRead).toBe(50_000);
  expect(produced).toBeLessThan(45);
  expect(all.every((line) => Buffer.byteLength(line) <= 100)).toBe(true);
  expect(all[0]).toBe('y'.repeat(100));
  expect(lines.cutLines).toBe(all.length);
});
