import { existsSync } from 'node:fs';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { StartedEnvironment } from '../environments/environment.ts';
import { ConfigError } from '../errors.ts';
import { readDumpHeader } from '../postgres/dump-header.ts';
import { compareWithMarker } from '../verify/compare.ts';
import { readManifest } from './dump-manifest.ts';
import { pgDumpRestorable } from '../model/recovery-point.ts';
import { dumpWithManifest, manifestPathFor } from './dump-with-manifest.ts';
import { sql, startCluster, startShopCluster, urlOf, type ShopCluster } from '../verify/shop-cluster.testkit.ts';

let production: ShopCluster;
let targets: StartedEnvironment[];
let dir: string;

beforeAll(async () => {
  [production, ...targets] = await Promise.all([
    startShopCluster('dump production'),
    startCluster('dump target 1'),
    startCluster('dump target 2'),
  ]);
  dir = await mkdtemp(join(tmpdir(), 'restore-drill-dump-test-'));
});
afterAll(async () => {
  await Promise.all([production?.stop(), ...(targets ?? []).map((t) => t.stop())]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Keeps committing new events from another connection until stopped: production does not pause for a dump. */
function keepWriting(config: pg.ClientConfig): { stop: () => Promise<number> } {
  let running = true;
  let written = 0;
  const done = (async () => {
    const client = new pg.Client(config);
    await client.connect();
    try {
      while (running) {
        await client.query(
          "insert into public.events (occurred_at, kind, payload) values (now(), 'during dump', '{}')",
        );
        written += 1;
      }
    } finally {
      await client.end();
    }
  })();
  return {
    stop: async () => {
      running = false;
      await done;
      return written;
    },
  };
}

describe('dumpWithManifest', () => {
  test('a custom dump and its manifest agree, although production keeps writing while pg_dump runs', async () => {
    const copy = await production.copy();
    let writer: ReturnType<typeof keepWriting> | undefined;
    const result = await dumpWithManifest(urlOf(copy), join(dir, 'shop.dump'), {
      onSnapshotExported: async () => {
        // Committed after the snapshot: neither the dump nor the manifest may contain these.
        await sql(
          copy,
          "insert into public.events (occurred_at, kind, payload) select now(), 'late', '{}' from generate_series(1, 10)",
        );
        await sql(
          copy,
          "update public.customers set notes = 'changed' where id <= 5; delete from public.order_items where order_id = 9",
        );
        await sql(copy, 'create function public.late_fn() returns int language sql as $$ select 1 $$');
        writer = keepWriting(copy);
      },
    });
    const writtenDuringDump = await writer!.stop();
    expect(writtenDuringDump).toBeGreaterThan(0);

    expect(result.format).toBe('custom');
    expect(result.path).toBe(join(dir, 'shop.dump'));
    expect(result.manifestPath).toBe(join(dir, 'shop.dump.manifest.json'));
    expect((await readDumpHeader(result.path)).format).toBe('custom');
    expect(await readManifest(result.manifestPath)).toEqual(result.manifest);
    expect(result.manifest).toMatchObject({
      format: 'restore-drill.manifest/v1',
      database: copy.database,
      serverVersion: production.env.version,
    });
    expect(new Set(Object.values(result.manifest.tables).map((t) => t.mode))).toEqual(new Set(['exact']));
    // The object fingerprint is of the same snapshot: a function made after it is in neither.
    expect(result.manifest.objects).toMatchObject({
      algorithm: 'rdobj/1',
      objects: { tables: expect.objectContaining({ 'table public.events': expect.any(Object) }) },
    });
    expect(Object.keys(result.manifest.objects?.objects.functions ?? {})).toEqual([]);
    expect(result.manifest.tables['public.events']!.rows).toBe(3000);

    const target = targets[0]!;
    await target.restore(pgDumpRestorable({ path: result.path, format: 'custom', digest: 'sha256:x' }), {
      log: () => {},
    });
    const checks = await compareWithMarker(target.connectionConfig(), result.manifest, { label: 'manifest' });
    expect(checks).toHaveLength(7 * 3);
    expect(checks.filter((c) => c.status !== 'passed')).toEqual([]);
    // …and production has really moved on since.
    const { rows } = await sql(copy, 'select count(*)::int as n from public.events');
    expect(rows[0].n).toBe(3010 + writtenDuringDump);
  });

  test('a path ending in / makes a directory dump with parallel jobs, restorable and matching its manifest', async () => {
    const copy = await production.copy();
    const result = await dumpWithManifest(urlOf(copy), join(dir, 'shop.dir/'), { jobs: 2 });
    expect(result).toMatchObject({
      format: 'directory',
      path: join(dir, 'shop.dir'),
      manifestPath: join(dir, 'shop.dir.manifest.json'),
    });
    expect((await stat(join(result.path, 'toc.dat'))).isFile()).toBe(true);
    const target = targets[1]!;
    await target.restore(pgDumpRestorable({ path: result.path, format: 'directory', digest: 'sha256:x' }), {
      log: () => {},
    });
    const checks = await compareWithMarker(target.connectionConfig(), result.manifest, { label: 'manifest' });
    expect(checks.filter((c) => c.status !== 'passed')).toEqual([]);
  });

  test('a failing dump leaves no manifest, also not a stale one from before', async () => {
    const path = join(dir, 'missing-parent', 'x.dump');
    const stale = join(dir, 'stale.dump');
    await writeFile(manifestPathFor(stale), '{}');
    // A bad URL fails before anything runs; the stale manifest beside the target goes first.
    await expect(dumpWithManifest('postgres://nobody:pw@127.0.0.1:1/none?connect_timeout=2', stale)).rejects.toThrow();
    expect(existsSync(manifestPathFor(stale))).toBe(false);
    await expect(dumpWithManifest('mysql://x@y/z', path)).rejects.toThrow(ConfigError);
    await expect(dumpWithManifest(urlOf(production.shop), 's3://bucket/key.dump')).rejects.toThrow(/local paths only/);
  });
});

describe('readManifest', () => {
  test('is undefined without a file and a ConfigError for one that is not a manifest', async () => {
    expect(await readManifest(join(dir, 'nothing.manifest.json'))).toBeUndefined();
    const garbage = join(dir, 'garbage.manifest.json');
    await writeFile(garbage, 'not json');
    await expect(readManifest(garbage)).rejects.toThrow(ConfigError);
    await expect(readManifest(garbage)).rejects.toThrow(`manifest ${garbage} is not valid JSON`);
    await writeFile(
      garbage,
      JSON.stringify({
        format: 'restore-drill.manifest/v1',
        takenAt: 'yesterday',
        serverVersion: '15',
        database: 'x',
        tables: {},
      }),
    );
    await expect(readManifest(garbage)).rejects.toThrow(/is not a valid restore-drill.manifest\/v1: .* at takenAt/);
  });

  test('manifestPathFor drops a trailing slash', () => {
    expect(manifestPathFor('backups/shop.dir/')).toBe('backups/shop.dir.manifest.json');
    expect(manifestPathFor('backups/shop.dump')).toBe('backups/shop.dump.manifest.json');
  });
});
