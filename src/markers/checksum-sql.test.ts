import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { SHOP_ROWS } from '../../fixtures/shop/seed-shop.ts';
import {
  computeRangeSums,
  hashLayout,
  integerLayout,
  parseQualifiedName,
  pinSessionSettings,
  quoteTable,
  type RangeTotals,
} from './checksum-sql.ts';
import { startShopCluster, withClient, type ShopCluster } from '../verify/shop-cluster.testkit.ts';
import { takeMarker } from './take-marker.ts';

let a: ShopCluster;
let b: ShopCluster;

beforeAll(async () => {
  [a, b] = await Promise.all([startShopCluster('checksum a'), startShopCluster('checksum b')]);
});
afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
});

/** Runs `use` on a connection with pinned settings inside a transaction that is rolled back. */
async function inRolledBackTransaction<T>(config: pg.ClientConfig, use: (client: pg.Client) => Promise<T>): Promise<T> {
  return withClient(config, async (client) => {
    await pinSessionSettings(client);
    await client.query('begin');
    try {
      return await use(client);
    } finally {
      await client.query('rollback');
    }
  });
}

const wholeRow = (client: pg.ClientBase, table: string): Promise<RangeTotals> =>
  computeRangeSums(client, parseQualifiedName(table), hashLayout(null));

describe('rdsum-text-md5/1', () => {
  test('identical data in two clusters has identical numbers, whatever the session defaults', async () => {
    // Cluster b's database prints values differently by default; the pinned settings must undo that.
    await withClient(b.env.connectionConfig('postgres'), async (client) => {
      await client.query(
        "alter database shop set timezone = 'Asia/Tokyo'; alter database shop set datestyle = 'SQL, DMY'; " +
          "alter database shop set intervalstyle = 'sql_standard'; alter database shop set extra_float_digits = 0; " +
          "alter database shop set bytea_output = 'escape'",
      );
    });
    const [left, right] = await Promise.all([
      takeMarker(a.shop, { forceExact: true }),
      takeMarker(b.shop, { forceExact: true }),
    ]);
    expect(Object.keys(left.tables).sort()).toEqual(Object.keys(SHOP_ROWS).sort());
    for (const [name, rows] of Object.entries(SHOP_ROWS)) {
      expect(left.tables[name]!.rows, name).toBe(rows);
      expect(left.tables[name]!.checksum, name).not.toBe('0');
    }
    expect(right.tables).toEqual(left.tables);
  });

  test('NULL and empty text hash differently', async () => {
    await inRolledBackTransaction(a.shop, async (client) => {
      await client.query(
        'create table public.t_null (id int primary key, s text); insert into public.t_null values (1, null)',
      );
      await client.query(
        "create table public.t_empty (id int primary key, s text); insert into public.t_empty values (1, '')",
      );
      const [nulls, empties] = [await wholeRow(client, 'public.t_null'), await wholeRow(client, 'public.t_empty')];
      expect(nulls.rows).toBe(empties.rows);
      expect(nulls.checksum).not.toBe(empties.checksum);
    });
  });

  test('numeric scale counts: 1.0 and 1.00 differ', async () => {
    await inRolledBackTransaction(a.shop, async (client) => {
      await client.query(
        'create table public.n1 (id int primary key, amount numeric); insert into public.n1 values (1, 1.0)',
      );
      await client.query(
        'create table public.n2 (id int primary key, amount numeric); insert into public.n2 values (1, 1.00)',
      );
      expect((await wholeRow(client, 'public.n1')).checksum).not.toBe((await wholeRow(client, 'public.n2')).checksum);
    });
  });

  test('a duplicated row in a table without primary key is detected, also when duplicated twice', async () => {
    await inRolledBackTransaction(a.shop, async (client) => {
      const before = await wholeRow(client, 'public.page_views');
      await client.query('insert into public.page_views select * from public.page_views where path = $1 limit 1', [
        '/products/7',
      ]);
      const once = await wholeRow(client, 'public.page_views');
      expect(once.rows).toBe(before.rows + 1);
      expect(once.checksum).not.toBe(before.checksum);
      // With XOR, two extra copies would cancel out; a sum does not.
      await client.query('insert into public.page_views select * from public.page_views where path = $1 limit 1', [
        '/products/7',
      ]);
      const twice = await wholeRow(client, 'public.page_views');
      expect(twice.checksum).not.toBe(before.checksum);
      expect(twice.checksum).not.toBe(once.checksum);
    });
  });

  test('odd identifiers, a column named like the row alias, and bigint keys at both extremes', async () => {
    await inRolledBackTransaction(a.shop, async (client) => {
      await client.query('create schema "My Schema"');
      await client.query('create table "My Schema"."Odd ""Name""" (id bigint primary key, r text, "Mixed Case" int)');
      await client.query(
        `insert into "My Schema"."Odd ""Name""" values (-9223372036854775808, 'low', 1), (0, null, 2), (9223372036854775807, 'high', 3)`,
      );
      const table = { schema: 'My Schema', name: 'Odd "Name"' };
      expect(quoteTable(table)).toBe('"My Schema"."Odd ""Name"""');
      const layout = integerLayout('id', '-9223372036854775808', '9223372036854775807');
      expect(layout).toEqual({
        kind: 'integer',
        column: 'id',
        min: '-9223372036854775808',
        width: String(2n ** 60n),
        buckets: 16,
      });
      const byKey = await computeRangeSums(client, table, layout);
      expect(byKey.sums.map((s) => [s.bucket, s.rows])).toEqual([
        [0, 1],
        [8, 1],
        [15, 1],
      ]);
      // The row hash does not depend on the layout, so the totals agree with a whole-row scan.
      const byRow = await computeRangeSums(client, table, hashLayout(null));
      expect(byRow.checksum).toBe(byKey.checksum);
      expect(byRow.rows).toBe(3);
    });
  });

  test('keys outside the layout land below and above its ranges; a bound limits the rows', async () => {
    await withClient(a.shop, async (client) => {
      await pinSessionSettings(client);
      const table = parseQualifiedName('public.events');
      const narrow = integerLayout('id', '1001', '2000');
      const sums = await computeRangeSums(client, table, narrow);
      expect(sums.sums[0]).toMatchObject({ bucket: -1, rows: 1000 });
      // 16 ranges of width 63 cover 1001..2008; 2009..3000 is above them.
      expect(narrow).toMatchObject({ width: '63', buckets: 16 });
      expect(sums.sums.at(-1)).toMatchObject({ bucket: 16, rows: 992 });
      expect(sums.rows).toBe(3000);
      const bounded = await computeRangeSums(client, table, integerLayout('id', '1', '3000'), {
        column: 'id',
        value: '1500',
      });
      expect(bounded.rows).toBe(1500);
      const none = await computeRangeSums(client, table, integerLayout('id', null, null), {
        column: 'id',
        value: null,
      });
      expect(none).toEqual({ rows: 0, checksum: '0', sums: [] });
    });
  });

  test('integer layouts have at most 16 ranges covering min..max', () => {
    expect(integerLayout('id', '1', '2000')).toMatchObject({ min: '1', width: '125', buckets: 16 });
    expect(integerLayout('id', '1', '3000')).toMatchObject({ width: '188', buckets: 16 });
    expect(integerLayout('id', '5', '7')).toMatchObject({ min: '5', width: '1', buckets: 3 });
    expect(integerLayout('id', null, null)).toMatchObject({ min: '0', width: '1', buckets: 1 });
  });
});
