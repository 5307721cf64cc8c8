import { mkdir, mkdtemp, open, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ConfigError } from '../../errors.ts';
import { startShopDatabase, type ShopDatabase } from '../../testing/shop-database.ts';
import { fileSource } from './file-source.ts';
import { inspectLocalDump } from '../local-dump.ts';
import type { SourceContext } from '../source.ts';

let shop: ShopDatabase;
let root: string;
/** Two custom-format dumps made ≥ 1 s apart (the header has 1 s resolution) with different data, and a directory dump. */
let older: string;
let newer: string;
let directory: string;

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));
const context = (): SourceContext => ({ workDir: root, log: () => {} });

function manifest(takenAt: string): string {
  return JSON.stringify({
    format: 'restore-drill.manifest/v1',
    takenAt,
    serverVersion: '15',
    database: 'restored',
    tables: {},
  });
}

/** A fresh folder holding copies of the given dumps under the given names. */
async function folderWith(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(root, 'folder-'));
  for (const [name, from] of Object.entries(files)) await writeFile(join(dir, name), await readFile(from));
  return dir;
}

async function configError(promise: Promise<unknown>): Promise<ConfigError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ConfigError);
  expect((error as ConfigError).exitCode).toBe(2);
  expect((error as ConfigError).message).not.toContain('\n');
  return error as ConfigError;
}

beforeAll(async () => {
  shop = await startShopDatabase();
  root = await mkdtemp(join(tmpdir(), 'file-source-test-'));
  older = await shop.dump(join(root, 'older.dump'), 'custom');
  await sleep(1100);
  await shop.query('create table late_addition (id int primary key)');
  newer = await shop.dump(join(root, 'newer.dump'), 'custom');
  directory = await shop.dump(join(root, 'shop.dir'), 'directory');
});

afterAll(async () => {
  await shop?.stop();
  if (root) await rm(root, { recursive: true, force: true });
});

describe('fileSource', () => {
  test('one custom-format archive: header facts and header time', async () => {
    const [point, ...rest] = await fileSource(newer).list(context());
    expect(rest).toEqual([]);
    expect(point).toMatchObject({ source: 'file', id: resolve(newer), createdAtBasis: 'archive-header' });
    expect(point!.facts).toMatchObject({
      format: 'custom',
      database: 'restored',
      serverVersion: expect.stringMatching(new RegExp(`^${shop.environment.version}\\b`)),
    });
    expect(point!.facts.sizeBytes).toBeGreaterThan(1000);
    expect(point!.facts.archiveVersion).toMatch(/^1\.\d+/);
    expect(point!.facts.pgDumpVersion).toMatch(/^\d+\.\d+/);
    // The header time is local wall-clock time of the dump, read back in the local zone: close to now.
    expect(Math.abs(Date.now() - point!.createdAt.getTime())).toBeLessThan(10 * 60_000);
  });

  test('a folder: newest by header time first, manifests and non-archives ignored', async () => {
    const dir = await folderWith({ 'a.dump': newer, 'b.dump': older });
    await writeFile(join(dir, 'notes.txt'), 'not a dump\n');
    await writeFile(join(dir, 'plain.sql'), 'select 1;\n');
    const points = await fileSource({ path: dir }).list(context());
    expect(points.map((p) => p.id)).toEqual([join(dir, 'a.dump'), join(dir, 'b.dump')]);
    expect(points.every((p) => p.createdAtBasis === 'archive-header')).toBe(true);
    expect(points[0]!.createdAt.getTime()).toBeGreaterThan(points[1]!.createdAt.getTime());
  });

  test('a folder: the manifest time wins over the header time', async () => {
    const dir = await folderWith({ 'a.dump': newer, 'b.dump': older });
    // The older archive claims (through its manifest) to be the later one.
    await writeFile(join(dir, 'b.dump.manifest.json'), manifest('2099-01-01T00:00:00.000Z'));
    await writeFile(join(dir, 'a.dump.manifest.json'), manifest('2020-01-01T00:00:00.000Z'));
    const points = await fileSource(dir).list(context());
    expect(points.map((p) => [p.id, p.createdAtBasis, p.createdAt.toISOString()])).toEqual([
      [join(dir, 'b.dump'), 'manifest', '2099-01-01T00:00:00.000Z'],
      [join(dir, 'a.dump'), 'manifest', '2020-01-01T00:00:00.000Z'],
    ]);
    const restorable = await fileSource(dir).fetch(points[0]!, context());
    expect(restorable.dump.manifest?.takenAt).toBe('2099-01-01T00:00:00.000Z');
  });

  test('a directory-format dump, given directly and inside a folder', async () => {
    const [direct] = await fileSource(directory).list(context());
    expect(direct).toMatchObject({
      id: resolve(directory),
      createdAtBasis: 'archive-header',
      facts: { format: 'directory' },
    });

    const dir = await mkdtemp(join(root, 'mixed-'));
    await writeFile(join(dir, 'old.dump'), await readFile(older));
    await mkdir(join(dir, 'shop.dir'));
    for (const name of ['toc.dat']) await writeFile(join(dir, 'shop.dir', name), await readFile(join(directory, name)));
    await writeFile(join(dir, 'shop.dir.manifest.json'), manifest('2099-01-01T00:00:00.000Z'));
    await mkdir(join(dir, 'unrelated'));
    const points = await fileSource(dir).list(context());
    expect(points.map((p) => [p.id, p.facts.format])).toEqual([
      [join(dir, 'shop.dir'), 'directory'],
      [join(dir, 'old.dump'), 'custom'],
    ]);
  });

  test('fetch hands the dump over in place with a digest', async () => {
    const source = fileSource(directory);
    const [point] = await source.list(context());
    const restorable = await source.fetch(point!, context());
    const digest = expect.stringMatching(/^sha256:[0-9a-f]{64}$/);
    expect(restorable).toEqual({
      kind: 'pg-dump',
      digest,
      dump: { path: resolve(directory), format: 'directory', digest },
    });
    expect(restorable.digest).toBe(restorable.dump.digest);
  });

  test('when only the mtime is known, it orders the dumps', async () => {
    // A folder whose newest file is a truncated archive: it is listed by mtime (so the drill fails on it
    // at fetch) rather than skipped in favour of an older, intact dump.
    const dir = await folderWith({ 'good.dump': older });
    const head = (await readFile(newer)).subarray(0, 20);
    await writeFile(join(dir, 'broken.dump'), head);
    const future = new Date(Date.now() + 3600_000);
    await utimes(join(dir, 'broken.dump'), future, future);
    const source = fileSource(dir);
    const points = await source.list(context());
    expect(points[0]).toMatchObject({ id: join(dir, 'broken.dump'), createdAtBasis: 'mtime', facts: { format: null } });
    expect(Math.abs(points[0]!.createdAt.getTime() - future.getTime())).toBeLessThan(1000);
    const error = await configError(source.fetch(points[0]!, context()));
    expect(error.message).toBe(`${join(dir, 'broken.dump')} is truncated: its header ends early`);
  });
});

describe('inspectLocalDump', () => {
  test('digests are stable and differ between dumps', async () => {
    const a = await inspectLocalDump(newer);
    const b = await inspectLocalDump(newer);
    const c = await inspectLocalDump(older);
    expect(a.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(a.digest).toBe(b.digest);
    expect(c.digest).not.toBe(a.digest);
    expect(a.format).toBe('custom');
    expect(a.manifest).toBeUndefined();
  });

  test('a custom-format digest is the sha256 of the file', async () => {
    const { createHash } = await import('node:crypto');
    const expected = createHash('sha256')
      .update(await readFile(older))
      .digest('hex');
    expect((await inspectLocalDump(older)).digest).toBe(`sha256:${expected}`);
  });

  test('a directory digest does not depend on the folder name and changes with any file', async () => {
    const copy = join(root, 'copy.dir');
    await mkdir(copy);
    const { readdir } = await import('node:fs/promises');
    for (const name of await readdir(directory))
      await writeFile(join(copy, name), await readFile(join(directory, name)));
    const original = await inspectLocalDump(directory);
    expect((await inspectLocalDump(copy)).digest).toBe(original.digest);
    const handle = await open(join(copy, 'toc.dat'), 'a');
    await handle.write('x');
    await handle.close();
    expect((await inspectLocalDump(copy)).digest).not.toBe(original.digest);
  });

  test('an unparsable manifest is a ConfigError', async () => {
    const dir = await folderWith({ 'a.dump': older });
    await writeFile(join(dir, 'a.dump.manifest.json'), '{ not json');
    const error = await configError(inspectLocalDump(join(dir, 'a.dump')));
    expect(error.message).toBe(`manifest ${join(dir, 'a.dump.manifest.json')} is not valid JSON`);
  });
});

describe('fileSource errors', () => {
  test('missing path', async () => {
    const error = await configError(fileSource(join(root, 'nope')).list(context()));
    expect(error.message).toBe(`backup path not found: ${join(root, 'nope')}`);
    expect(error.hint).toMatch(/restore-drill dump/);
  });

  test('a folder without dumps', async () => {
    const dir = await mkdtemp(join(root, 'empty-'));
    await writeFile(join(dir, 'readme.txt'), 'hello');
    await writeFile(join(dir, 'x.dump.manifest.json'), manifest('2024-01-01T00:00:00Z'));
    const error = await configError(fileSource(dir).list(context()));
    expect(error.message).toBe(`no pg_dump archives in ${dir}`);
  });

  test('a file that is not an archive', async () => {
    const path = join(root, 'plain.sql');
    await writeFile(path, '-- PostgreSQL database dump\nselect 1;\n');
    const error = await configError(fileSource(path).list(context()));
    expect(error.message).toBe(`${path} is not a pg_dump archive in custom or directory format`);
  });

  test('a truncated archive (its first 20 bytes)', async () => {
    const path = join(root, 'truncated.dump');
    await writeFile(path, (await readFile(older)).subarray(0, 20));
    const error = await configError(fileSource(path).list(context()));
    expect(error.message).toBe(`${path} is truncated: its header ends early`);
    expect(error.hint).toMatch(/incomplete/);
  });

  test('a toc.dat on its own', async () => {
    const error = await configError(fileSource(join(directory, 'toc.dat')).list(context()));
    expect(error.message).toMatch(/toc.dat is the table of contents of a directory-format or tar dump$/);
  });
});
