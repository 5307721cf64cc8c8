import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { CheckResult } from '../model/report.ts';
import { computeTotals, parseQualifiedName, pinSessionSettings, TEXT_ROW_HASH_SQL } from '../markers/checksum-sql.ts';
import { compareWithMarker, describeRange, startComparison } from './compare.ts';
import type { Marker } from '../model/marker.ts';
import { sql, startShopCluster, withClient, type ShopCluster } from './shop-cluster.testkit.ts';
import { splitBlocks, tableBlocks } from './table-blocks.ts';
import { readTypedColumns, typedRowHashSql } from '../markers/typed-row-hash.ts';
import { takeMarker } from '../markers/take-marker.ts';

let cluster: ShopCluster;
/** Every table exact, like a dump manifest. */
let exact: Marker;
/** events append-only, page_views count, products exact. */
let mixed: Marker;

beforeAll(async () => {
  cluster = await startShopCluster('compare');
  exact = await takeMarker(cluster.shop, { forceExact: true });
  mixed = await takeMarker(cluster.shop, {
    tables: [
      { name: 'events', mode: 'append-only' },
      { name: 'page_views', mode: 'count' },
      { name: 'products', mode: 'exact' },
    ],
  });
});
afterAll(async () => {
  await cluster?.stop();
});

const failed = (checks: CheckResult[]) => checks.filter((c) => c.status !== 'passed');
const check = (checks: CheckResult[], name: string) => {
  const found = checks.find((c) => c.name === name);
  if (!found) throw new Error(`no check ${name} in ${checks.map((c) => c.name).join(', ')}`);
  return found;
};

describe('compareWithMarker', () => {
  test('an unchanged copy passes every check; names say what, which table and which marker', async () => {
    const checks = await compareWithMarker(await cluster.copy(), exact, { label: 'manifest' });
    expect(checks).toHaveLength(7 * 3);
    expect(failed(checks)).toEqual([]);
    expect(check(checks, 'row count public.orders (manifest)')).toEqual({
      name: 'row count public.orders (manifest)',
      status: 'passed',
      expected: 2000,
      actual: 2000,
      table: 'public.orders',
    });
    expect(checks.slice(0, 3).map((c) => c.name)).toEqual([
      'table exists public.customers (manifest)',
      'row count public.customers (manifest)',
      'checksum public.customers (manifest)',
    ]);
  });

  test('a changed value, a deleted row and NULL turned into empty text are each named with their range', async () => {
    const copy = await cluster.copy();
    await sql(
      copy,
      `update orders set total = total + 0.01 where id = 130;
       delete from events where id = 1;
       update customers set notes = '' where id = 3 and notes is null;
       delete from order_items where order_id = 7 and line = 1`,
    );
    const checks = await compareWithMarker(copy, exact, { label: 'marker #12' });
    expect(failed(checks).map((c) => c.name)).toEqual([
      'checksum public.customers (marker #12)',
      'row count public.events (marker #12)',
      'checksum public.events (marker #12)',
      'row count public.order_items (marker #12)',
      'checksum public.order_items (marker #12)',
      'checksum public.orders (marker #12)',
    ]);
    expect(check(checks, 'checksum public.orders (marker #12)')).toMatchObject({
      table: 'public.orders',
      expected: exact.tables['public.orders']!.checksum,
      detail: 'rows with id 126..250 differ (bucket 1: 125 rows expected and found, checksums differ)',
    });
    expect(check(checks, 'checksum public.events (marker #12)').detail).toBe(
      'rows with id 1..188 differ (bucket 0: 188 rows expected, 187 found)',
    );
    expect(check(checks, 'row count public.events (marker #12)')).toMatchObject({
      expected: 3000,
      actual: 2999,
      detail: 'rows with id 1..188 differ (bucket 0: 188 rows expected, 187 found)',
    });
    expect(check(checks, 'checksum public.customers (marker #12)').detail).toBe(
      'rows with id 1..32 differ (bucket 0: 32 rows expected and found, checksums differ)',
    );
    const { rows } = await sql(
      copy,
      "select mod(('x' || substr(md5(row(7::bigint, 1)::text), 1, 8))::bit(32)::bigint, 16)::int as bucket",
    );
    expect(check(checks, 'checksum public.order_items (marker #12)').detail).toMatch(
      new RegExp(
        `^rows in hash bucket ${rows[0].bucket} of 16 \\(by order_id, line\\) differ \\(\\d+ rows expected, \\d+ found\\)$`,
      ),
    );
  });

  test('a missing table fails "table exists" and skips its other checks, naming the failed one', async () => {
    const copy = await cluster.copy();
    await sql(copy, 'drop table page_views');
    const checks = (await compareWithMarker(copy, exact, { label: 'manifest' })).filter(
      (c) => c.table === 'public.page_views',
    );
    expect(checks).toEqual([
      {
        name: 'table exists public.page_views (manifest)',
        status: 'failed',
        expected: true,
        actual: false,
        table: 'public.page_views',
        detail: 'public.page_views is not in the restored database',
      },
      {
        name: 'row count public.page_views (manifest)',
        status: 'skipped',
        expected: null,
        actual: null,
        table: 'public.page_views',
        detail: 'skipped: "table exists public.page_views (manifest)" failed',
      },
      {
        name: 'checksum public.page_views (manifest)',
        status: 'skipped',
        expected: null,
        actual: null,
        table: 'public.page_views',
        detail: 'skipped: "table exists public.page_views (manifest)" failed',
      },
    ]);
  });

  test('append-only: rows added after the marker pass, a change at or below the bound fails', async () => {
    const copy = await cluster.copy();
    await sql(
      copy,
      "insert into events (occurred_at, kind, payload) select now(), 'late', '{}' from generate_series(1, 10)",
    );
    const grown = await compareWithMarker(copy, mixed, { label: 'manifest' });
    expect(failed(grown)).toEqual([]);
    expect(check(grown, 'row count public.events (manifest)')).toMatchObject({
      expected: 3000,
      actual: 3000,
      detail: 'append-only: rows with id <= 3000',
    });

    await sql(copy, "update events set kind = 'tampered' where id = 3000");
    const changed = await compareWithMarker(copy, mixed, { label: 'manifest' });
    expect(failed(changed).map((c) => c.name)).toEqual(['checksum public.events (manifest)']);
    // The last range is cut at the bound.
    expect(check(changed, 'checksum public.events (manifest)').detail).toBe(
      'append-only: rows with id <= 3000; rows with id 2821..3000 differ (bucket 15: 180 rows expected and found, checksums differ)',
    );
  });

  test('count mode passes within the tolerance and fails beyond it', async () => {
    const copy = await cluster.copy();
    await sql(copy, 'delete from page_views where ctid in (select ctid from page_views limit 150)');
    const within = check(
      await compareWithMarker(copy, mixed, { label: 'manifest' }),
      'row count public.page_views (manifest)',
    );
    expect(within).toMatchObject({
      status: 'passed',
      expected: 2000,
      actual: 1850,
      detail: 'count mode: within ±10 % of 2000 (tolerance 0.1)',
    });
    await sql(copy, 'delete from page_views where ctid in (select ctid from page_views limit 100)');
    const beyond = check(
      await compareWithMarker(copy, mixed, { label: 'manifest' }),
      'row count public.page_views (manifest)',
    );
    expect(beyond).toMatchObject({
      status: 'failed',
      expected: 2000,
      actual: 1750,
      detail: '1750 rows is 12.5 % off; count mode: within ±10 % of 2000 (tolerance 0.1)',
    });
  });

  test('a table that cannot be read the way the marker says fails with the database error', async () => {
    const copy = await cluster.copy();
    await sql(copy, 'alter table events drop column id');
    const checks = (await compareWithMarker(copy, mixed, { label: 'manifest' })).filter(
      (c) => c.table === 'public.events',
    );
    expect(checks.map((c) => c.status)).toEqual(['passed', 'failed', 'failed']);
    expect(checks[1]!.detail).toMatch(/^could not read public\.events: column r\.id does not exist/);
  });

  test('a marker of another checksum algorithm fails the checksum but still compares the row count', async () => {
    const events = mixed.tables['public.events']!;
    const other: Marker = {
      takenAt: mixed.takenAt,
      tables: { 'public.events': { ...events, algorithm: 'rdsum-text-md5/0' } },
    };
    const checks = await compareWithMarker(cluster.shop, other, { label: 'manifest' });
    expect(checks.map((c) => c.status)).toEqual(['passed', 'passed', 'failed']);
    expect(checks[2]!.detail).toMatch(
      /checksum algorithm rdsum-text-md5\/0, this restore-drill computes rdsum-text-md5\/1/,
    );
  });
});

describe('describeRange', () => {
  test('integer ranges, the ranges outside them, and hash buckets', () => {
    const layout = { kind: 'integer', column: 'id', min: '1', width: '125', buckets: 16 } as const;
    expect(describeRange(layout, 0)).toBe('rows with id 1..125');
    expect(describeRange(layout, -1)).toBe('rows with id below 1');
    expect(describeRange(layout, 16)).toBe('rows with id above 2000');
    expect(describeRange({ kind: 'hash', columns: null, buckets: 16 }, 3)).toBe(
      'rows in hash bucket 3 of 16 (by whole row)',
    );
  });
});

describe('checksum algorithms and scheduling', () => {
  const major = async () =>
    Number(
      (await sql(cluster.shop, "select current_setting('server_version_num')::int / 10000 as major")).rows[0].major,
    );

  test('a typed checksum taken on this major is compared by it, and the report learns which', async () => {
    const algorithms = new Set<string>();
    const checks = await compareWithMarker(await cluster.copy(), exact, { label: 'manifest', algorithms });
    expect(failed(checks)).toEqual([]);
    const name = `rdsum-record/3 (PostgreSQL ${await major()})`;
    expect([...algorithms]).toEqual([name]);
    expect(exact.tables['public.orders']!.typed).toMatchObject({
      algorithm: 'rdsum-record/3',
      serverMajor: await major(),
    });
    expect(check(checks, 'checksum public.orders (manifest)')).toMatchObject({
      status: 'passed',
      expected: exact.tables['public.orders']!.typed!.checksum,
      actual: exact.tables['public.orders']!.typed!.checksum,
      detail: `checksum ${name}`, // jsonb included: rdsum-record/3 hashes it by its send format, not by value
    });
    expect(check(checks, 'checksum public.customers (manifest)').detail).toBe(`checksum ${name}`);
  });

  test('an rdsum-record/2 marker still verifies: by its typed checksum where it equals /3, by the portable one for tables with jsonb', async () => {
    // Tables without a jsonb column hash the same under /2 and /3; orders has one (shipping), which /2 took by value.
    const version2: Marker = {
      ...exact,
      tables: Object.fromEntries(
        Object.entries(exact.tables).map(([name, t]) => [
          name,
          t.typed ? { ...t, typed: { ...t.typed, algorithm: 'rdsum-record/2' } } : t,
        ]),
      ),
    };
    const algorithms = new Set<string>();
    const checks = await compareWithMarker(await cluster.copy(), version2, { label: 'manifest', algorithms });
    expect(failed(checks)).toEqual([]);
    expect([...algorithms].sort()).toEqual([`rdsum-record/2 (PostgreSQL ${await major()})`, 'rdsum-text-md5/1']);
    expect(check(checks, 'checksum public.customers (manifest)')).toMatchObject({
      expected: exact.tables['public.customers']!.typed!.checksum,
      detail: `checksum rdsum-record/2 (PostgreSQL ${await major()})`,
    });
    expect(check(checks, 'checksum public.orders (manifest)')).toMatchObject({
      expected: exact.tables['public.orders']!.checksum,
      detail:
        "checksum rdsum-text-md5/1; the marker's rdsum-record/2 took jsonb column shipping by value (2.0 = 2 inside a document), so the portable checksum was compared",
    });
    // And what /2 could not see, the portable checksum does: a number's scale inside a document (2.0 = 2 as jsonb).
    const copy = await cluster.copy();
    const score = await sql(
      copy,
      `update events set payload = jsonb_set(payload, '{score}', '2') where id = 20 and (payload ->> 'score')::numeric = 2 returning id`,
    );
    expect(score.rows).toHaveLength(1);
    const changed = await compareWithMarker(copy, version2, { label: 'manifest' });
    expect(failed(changed).map((c) => c.name)).toEqual(['checksum public.events (manifest)']);
    // rdsum-record/3 sees it itself, then names the range with the portable checksum.
    const changed3 = await compareWithMarker(copy, exact, { label: 'manifest' });
    expect(failed(changed3).map((c) => c.name)).toEqual(['checksum public.events (manifest)']);
    expect(check(changed3, 'checksum public.events (manifest)').detail).toMatch(/^rows with id 1\.\.\d+ differ/);
  });

  test('taken on another major, with rdsum-record/1, or when asked: the portable checksum is compared', async () => {
    const otherMajor: Marker = {
      ...exact,
      tables: Object.fromEntries(
        Object.entries(exact.tables).map(([name, t]) => [
          name,
          t.typed ? { ...t, typed: { ...t.typed, serverMajor: t.typed.serverMajor + 1 } } : t,
        ]),
      ),
    };
    // A marker from before rdsum-record/2: its typed checksum followed equality, so its portable one is used.
    const typedVersion1: Marker = {
      ...exact,
      tables: Object.fromEntries(
        Object.entries(exact.tables).map(([name, t]) => [
          name,
          t.typed ? { ...t, typed: { ...t.typed, algorithm: 'rdsum-record/1' } } : t,
        ]),
      ),
    };
    for (const [marker, options] of [
      [otherMajor, {}],
      [exact, { typed: false }],
      [typedVersion1, {}],
    ] as const) {
      const algorithms = new Set<string>();
      const checks = await compareWithMarker(cluster.shop, marker, { label: 'manifest', algorithms, ...options });
      expect(failed(checks)).toEqual([]);
      expect([...algorithms]).toEqual(['rdsum-text-md5/1']);
      expect(check(checks, 'checksum public.orders (manifest)')).toMatchObject({
        expected: exact.tables['public.orders']!.checksum,
        detail: 'checksum rdsum-text-md5/1',
      });
    }
  });

  test('a typed mismatch is narrowed down to the key range with the portable checksum', async () => {
    const copy = await cluster.copy();
    await sql(copy, 'update orders set total = total + 0.01 where id = 130');
    const algorithms = new Set<string>();
    const checks = await compareWithMarker(copy, exact, { label: 'manifest', algorithms });
    expect(failed(checks).map((c) => c.name)).toEqual(['checksum public.orders (manifest)']);
    expect(check(checks, 'checksum public.orders (manifest)')).toMatchObject({
      expected: exact.tables['public.orders']!.checksum,
      detail: 'rows with id 126..250 differ (bucket 1: 125 rows expected and found, checksums differ)',
    });
    expect(algorithms.has('rdsum-text-md5/1')).toBe(true);
  });

  test('a table reported restored is compared at once, before the comparison is finished', async () => {
    const copy = await cluster.copy();
    const done: number[] = [];
    await using comparison = startComparison(() => copy, exact, { label: 'manifest', onTable: (n) => done.push(n) });
    comparison.tableRestored({ schema: 'public', name: 'orders' });
    comparison.tableRestored({ schema: 'public', name: 'not_in_the_marker' });
    for (let i = 0; i < 200 && done.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 25));
    expect(done).toEqual([1]);
    const checks = await comparison.finish();
    expect(checks).toHaveLength(7 * 3);
    expect(failed(checks)).toEqual([]);
    expect(checks.map((c) => c.name)).toEqual(
      (await compareWithMarker(copy, exact, { label: 'manifest' })).map((c) => c.name),
    );
  });

  test('block ranges of a table add up to its whole-table numbers', async () => {
    await withClient(cluster.shop, async (client) => {
      await pinSessionSettings(client);
      const table = parseQualifiedName('public.events');
      const blocks = (await tableBlocks(client, table, await major()))!;
      expect(blocks).toBeGreaterThan(3);
      const parts = splitBlocks(blocks, 3, 1);
      expect(parts).toHaveLength(3);
      for (const rowHash of [TEXT_ROW_HASH_SQL, typedRowHashSql(await readTypedColumns(client, table))]) {
        const whole = await computeTotals(client, table, rowHash);
        const sums = await Promise.all(parts.map((part) => computeTotals(client, table, rowHash, undefined, part)));
        expect(sums.reduce((n, s) => n + s.rows, 0)).toBe(3000);
        expect(String(sums.reduce((n, s) => n + BigInt(s.checksum), 0n))).toBe(whole.checksum);
      }
      expect((await computeTotals(client, table, TEXT_ROW_HASH_SQL)).checksum).toBe(
        exact.tables['public.events']!.checksum,
      );
    });
  });

  test('splitBlocks covers every block, open-ended at both ends', () => {
    expect(splitBlocks(1000, 2, 100)).toEqual([
      { from: null, to: 500 },
      { from: 500, to: null },
    ]);
    expect(splitBlocks(150, 4, 100)).toEqual([{ from: null, to: null }]);
    expect(splitBlocks(0, 4, 100)).toEqual([{ from: null, to: null }]);
    expect(splitBlocks(1001, 3, 1)).toEqual([
      { from: null, to: 334 },
      { from: 334, to: 668 },
      { from: 668, to: null },
    ]);
  });
});

describe('table keys for any identifier', () => {
  test('schema "a.b" table "c" and schema "a" table "b.c" get their own quoted keys, are both checked, and a difference names the right one', async () => {
    const copy = await cluster.copy();
    await sql(
      copy,
      `create schema "a.b"; create table "a.b"."c" (id int primary key, v text); insert into "a.b"."c" values (1, 'x');
       create schema a; create table a."b.c" (id int primary key, v text); insert into a."b.c" values (1, 'y'), (2, 'z');
       create schema "q""s"; create table "q""s".t (id int primary key); insert into "q""s".t values (1)`,
    );
    const marker = await takeMarker(copy, { forceExact: true });
    expect(Object.keys(marker.tables)).toEqual(
      expect.arrayContaining(['"a.b"."c"', '"a"."b.c"', '"q""s"."t"', 'public.orders']),
    );
    expect(marker.tables['"a.b"."c"']).toMatchObject({
      rows: 1,
      schema: expect.objectContaining({ columns: ['id integer not null', 'v text'] }),
    });
    expect(marker.tables['"a"."b.c"']).toMatchObject({ rows: 2 });
    // Named on the command line the same way.
    const selected = await takeMarker(copy, {
      tables: [
        { name: '"a.b"."c"', mode: 'exact' },
        { name: 'a.b.c', mode: 'exact' },
      ],
    });
    expect(Object.keys(selected.tables)).toEqual(['"a.b"."c"', '"a"."b.c"']);

    expect(failed(await compareWithMarker(copy, marker, { label: 'manifest' }))).toEqual([]);
    await sql(copy, 'delete from a."b.c" where id = 2');
    expect(failed(await compareWithMarker(copy, marker, { label: 'manifest' })).map((c) => c.name)).toEqual([
      'row count "a"."b.c" (manifest)',
      'checksum "a"."b.c" (manifest)',
    ]);
  });

  test('keys of older markers still read: schema.name split at the first dot', () => {
    expect(parseQualifiedName('public.orders')).toEqual({ schema: 'public', name: 'orders' });
    expect(parseQualifiedName('orders')).toEqual({ schema: 'public', name: 'orders' });
    expect(parseQualifiedName('audit.log.2026')).toEqual({ schema: 'audit', name: 'log.2026' });
    expect(parseQualifiedName('"a.b"."c"')).toEqual({ schema: 'a.b', name: 'c' });
    expect(parseQualifiedName('"q""s"."t"')).toEqual({ schema: 'q"s', name: 't' });
  });
});
