import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { scanServerLog } from './sandbox-violations.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sandbox-violations-test-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const at = (level: string, text: string) => `2026-12-02 04:43:36.845 UTC [9] ${level}:  ${text}`;

async function scan(lines: string[]) {
  const path = join(dir, `${Math.random()}.log`);
  await writeFile(path, `${lines.join('\n')}\n`);
  return (await scanServerLog(path, ['/tmp/cluster/data', '/tmp/cluster/socket'])).found;
}

test('a blocked program, file and connection are each named with the function and the statement they ran in', async () => {
  const found = await scan([
    at('LOG', 'database system is ready to accept connections'),
    at('ERROR', `could not execute command "id > /tmp/x": Cannot allocate memory`),
    at('CONTEXT', `SQL statement "copy (select 1) to program 'id > /tmp/x'"`),
    `\tPL/pgSQL function public.label_ok(text) line 4 at EXECUTE`,
    `\tCOPY items, line 1: "1\titem 1"`,
    at('STATEMENT', 'COPY public.items (id, label) FROM stdin;'),
    at('ERROR', 'could not open file "/tmp/outside/environment.txt" for writing: Read-only file system'),
    at('CONTEXT', "SQL statement \"copy (select 'x') to '/tmp/outside/environment.txt'\""),
    `\tPL/pgSQL function public.label_key(text) line 7 at EXECUTE`,
    at('STATEMENT', 'CREATE INDEX items_label_key ON public.items USING btree (public.label_key(label));'),
    at('ERROR', 'could not establish connection'),
    at('DETAIL', 'connection to server at "127.0.0.1", port 40000 failed: Connection refused'),
    at('STATEMENT', 'REFRESH MATERIALIZED VIEW public.item_totals;'),
  ]);
  expect(found).toEqual([
    {
      attempt: 'run a program (id > /tmp/x)',
      object: 'function public.label_ok(text) during COPY public.items',
      message: 'could not execute command "id > /tmp/x": Cannot allocate memory',
    },
    {
      attempt: 'write a file outside its data directory (/tmp/outside/environment.txt)',
      object: 'function public.label_key(text) during CREATE INDEX items_label_key ON public.items',
      message: 'could not open file "/tmp/outside/environment.txt" for writing: Read-only file system',
    },
    {
      attempt: 'connect over the network',
      object: 'during REFRESH MATERIALIZED VIEW public.item_totals',
      message: 'could not establish connection',
    },
  ]);
});

test("the server's own files, ordinary errors and a missing log are not violations", async () => {
  expect(
    await scan([
      at('ERROR', 'could not open file "/tmp/cluster/data/base/1/999": No such file or directory'),
      at('ERROR', 'could not open file "pg_wal/000000010000000000000099": No such file or directory'),
      at('ERROR', 'duplicate key value violates unique constraint "items_pkey"'),
      at('WARNING', 'could not open file "/etc/hostname": it is fine'),
    ]),
  ).toEqual([]);
  expect(await scanServerLog(join(dir, 'absent.log'), [])).toEqual({ found: [] });
});

test('a flood of attempts is listed up to a bound and counted, and payload text is kept to one short line', async () => {
  const lines: string[] = [];
  for (let i = 0; i < 30; i++)
    lines.push(
      at('ERROR', `could not execute command "try ${i}\u0007${'x'.repeat(300)}": Cannot allocate memory`),
      at('STATEMENT', `SELECT f${i}()`),
    );
  const found = await scan(lines);
  expect(found).toHaveLength(21);
  expect(found.at(-1)!.attempt).toBe('do more of the same (10 further blocked attempts not listed)');
  expect(found[0]!.message.length).toBeLessThanOrEqual(160);
  expect(found[0]!.attempt).not.toMatch(/\u0007/);
});

test('a log flooded past the bound is scanned up to it and says the rest was not: an attempt there is not claimed absent', async () => {
  const path = join(dir, 'flood.log');
  const attempt = [
    at('ERROR', 'could not execute command "id": Cannot allocate memory'),
    at('STATEMENT', 'SELECT early()'),
  ];
  const flood = Array.from({ length: 2000 }, (_, i) => at('WARNING', `noise ${i} ${'x'.repeat(40)}`));
  // One statement of endless continuation lines, and one line without an end: neither is kept whole.
  const endless = [
    at('STATEMENT', 'SELECT 1'),
    ...Array.from({ length: 500 }, () => 'y'.repeat(100)),
    'z'.repeat(5000),
  ];
  await writeFile(
    path,
    `${[...attempt, ...endless, ...flood, at('ERROR', 'could not execute command "late"')].join('\n')}\n`,
  );
  const scanned = await scanServerLog(path, [], { maxBytes: 64 * 1024, maxLineBytes: 1024 });
  expect(scanned.found.map((v) => v.attempt)).toEqual(['run a program (id)']);
  expect(scanned.unscanned).toBe(
    'the server log is larger than 65536 bytes (a flood of messages): only that much was scanned, 1 over-long line(s) cut, the rest was not',
  );
  expect((await scanServerLog(path, [])).unscanned).toBeUndefined();
});
