import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CHECKSUM_ALGORITHM } from './checksum-sql.ts';
import { readMarkers } from './read-markers.ts';
import {
  sql,
  startShopCluster,
  urlOf,
  waitUntil,
  withClient,
  type ShopCluster,
} from '../verify/shop-cluster.testkit.ts';
import { takeMarker, writeMarker } from './take-marker.ts';

let cluster: ShopCluster;

beforeAll(async () => {
  cluster = await startShopCluster('take marker');
});
afterAll(async () => {
  await cluster?.stop();
});

/** Inserted/updated/deleted counters of the user tables (restore_drill excluded). */
async function tupleStats(config: pg.ClientConfig): Promise<Record<string, string>> {
  const { rows } = await sql(
    config,
    `select relname, n_tup_ins || '/' || n_tup_upd || '/' || n_tup_del as counters
     from pg_stat_user_tables where schemaname <> 'restore_drill' order by relname`,
  );
  return Object.fromEntries(rows.map((row) => [row.relname, row.counters]));
}

describe('takeMarker', () => {
  test('records mode, algorithm, counts, checksums, bound and ranges per table', async () => {
    const marker = await takeMarker(cluster.shop, {
      tables: [
        { name: 'events', mode: 'append-only' },
        { name: 'products', mode: 'exact' },
        { name: 'page_views', mode: 'count' },
      ],
    });
    expect(marker.takenAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(Object.keys(marker.tables)).toEqual(['public.events', 'public.products', 'public.page_views']);
    const events = marker.tables['public.events']!;
    expect(events).toMatchObject({
      mode: 'append-only',
      algorithm: CHECKSUM_ALGORITHM,
      rows: 3000,
      bound: { column: 'id', value: '3000' },
      ranges: { layout: { kind: 'integer', column: 'id', min: '1', width: '188', buckets: 16 } },
    });
    expect(events.ranges!.sums).toHaveLength(16);
    expect(events.ranges!.sums.reduce((n, s) => n + s.rows, 0)).toBe(3000);
    expect(String(events.ranges!.sums.reduce((n, s) => n + BigInt(s.sum), 0n))).toBe(events.checksum);
    expect(marker.tables['public.products']).toMatchObject({
      mode: 'exact',
      rows: 200,
      ranges: { layout: { kind: 'hash', columns: ['sku'], buckets: 16 } },
    });
    // The typed checksum of the same rows, with the major it can be compared on; none in count mode.
    const major = Number(
      (await sql(cluster.shop, "select current_setting('server_version_num')::int / 10000 as major")).rows[0].major,
    );
    expect(events.typed).toEqual({
      algorithm: 'rdsum-record/3',
      serverMajor: major,
      checksum: expect.stringMatching(/^-?\d+$/),
    });
    expect(events.typed!.checksum).not.toBe(events.checksum);
    expect(marker.tables['public.page_views']).toEqual({
      mode: 'count',
      algorithm: CHECKSUM_ALGORITHM,
      rows: 2000,
      tolerance: 0.1,
      schema: expect.objectContaining({ columns: expect.any(Array) }),
    });
  });

  test('an empty append-only table has no bound value and no rows', async () => {
    const copy = await cluster.copy();
    await sql(copy, 'create table public.empty_log (id bigint primary key, line text)');
    const marker = await takeMarker(copy, { tables: [{ name: 'empty_log', mode: 'append-only' }] });
    expect(marker.tables['public.empty_log']).toMatchObject({
      rows: 0,
      checksum: '0',
      bound: { column: 'id', value: null },
    });
  });
});

describe('writeMarker', () => {
  test('writes exactly one marker row and changes nothing else', async () => {
    const copy = await cluster.copy();
    const statsBefore = await tupleStats(copy);
    const before = await takeMarker(copy, { forceExact: true });

    const written = await writeMarker(urlOf(copy));

    const after = await takeMarker(copy, { forceExact: true });
    expect(after.tables).toEqual(before.tables);
    // Statistics arrive asynchronously: once the marker's own insert shows, writeMarker's sessions have
    // reported everything they did.
    const markerInsertSeen = await waitUntil(async () => {
      const { rows } = await sql(
        copy,
        "select n_tup_ins::int as n from pg_stat_user_tables where schemaname = 'restore_drill'",
      );
      return rows[0]?.n === 1;
    });
    expect(markerInsertSeen).toBe(true);
    expect(await tupleStats(copy)).toEqual(statsBefore);
    const stored = await withClient(copy, (client) => readMarkers(client));
    expect(stored).toHaveLength(1);
    // readMarkers reads the tables; the object fingerprint beside them is read by compare-objects.ts.
    const { objects, ...tablesOnly } = written;
    expect(stored[0]).toEqual(tablesOnly);
    expect(objects?.algorithm).toBe('rdobj/1');
    expect(written.id).toBe('1');
    // Fresh statistics show no updates or deletes, so integer-keyed tables are append-only, the others count.
    expect(Object.fromEntries(Object.entries(written.tables).map(([name, t]) => [name, t.mode]))).toEqual({
      'public.customers': 'append-only',
      'public.documents': 'append-only',
      'public.events': 'append-only',
      'public.order_items': 'count',
      'public.orders': 'append-only',
      'public.page_views': 'count',
      'public.products': 'count',
    });
    // The marker table is created once and never marks itself.
    const second = await writeMarker(copy, { tables: [{ name: 'events' }] });
    expect(second.id).toBe('2');
    expect(Object.keys(second.tables)).toEqual(['public.events']);
    const { rows } = await sql(copy, 'select count(*)::int as n from restore_drill.markers');
    expect(rows[0].n).toBe(2);
  });

  test("the marker row's time is its transaction's, and its numbers match a marker taken right before", async () => {
    const copy = await cluster.copy();
    const taken = await takeMarker(copy, { tables: [{ name: 'events', mode: 'append-only' }] });
    const written = await writeMarker(copy, { tables: [{ name: 'events', mode: 'append-only' }] });
    expect(written.tables).toEqual(taken.tables);
    const { rows } = await sql(copy, 'select taken_at from restore_drill.markers where id = $1', [written.id]);
    expect((rows[0].taken_at as Date).toISOString()).toBe(written.takenAt);
  });
});
