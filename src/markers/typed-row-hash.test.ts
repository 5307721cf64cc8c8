import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  computeTotals,
  parseQualifiedName,
  pinSessionSettings,
  TEXT_ROW_HASH_SQL,
  type Totals,
} from './checksum-sql.ts';
import { startShopCluster, withClient, type ShopCluster } from '../verify/shop-cluster.testkit.ts';
import {
  columnsHashedOtherwise,
  readTypedColumns,
  readTypedColumnsOfTables,
  typedRowHashSql,
} from './typed-row-hash.ts';

let a: ShopCluster;
let b: ShopCluster;

beforeAll(async () => {
  [a, b] = await Promise.all([startShopCluster('row hash a'), startShopCluster('row hash b')]);
  // Cluster b prints values differently by default, and its enum type gets other OIDs (a type made first).
  await withClient(b.env.connectionConfig('postgres'), (client) =>
    client.query(
      "alter database shop set timezone = 'Asia/Tokyo'; alter database shop set datestyle = 'SQL, DMY'; alter database shop set extra_float_digits = 0",
    ),
  );
  await withClient(b.shop, (client) => client.query("create type public.unrelated as enum ('x', 'y', 'z')"));
  for (const cluster of [a, b]) {
    await withClient(cluster.shop, (client) =>
      client.query(`
        create type public.mood as enum ('sad', 'ok', 'happy');
        create table public.kinds (id int primary key, mood public.mood, moods public.mood[], ratio float8, span interval, tags text[], amounts numeric[], at timestamp, pair int4range, doc json);
        insert into public.kinds values
          (1, 'ok', '{sad,happy}', 0.1, '1 day', '{a,b}', '{1.5,2.50}', '2026-01-01 10:00', '[1,5)', '{"b": 1, "a": 2}'),
          (2, null, null, '-0'::float8, '36 hours', '{}', null, null, 'empty', null)`),
    );
  }
});
afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
});

/** The two row hashes every checksum variant is built on. */
const variants: Array<{ name: string; rowHash: (client: pg.ClientBase, table: string) => Promise<string> }> = [
  { name: 'rdsum-text-md5/1', rowHash: () => Promise.resolve(TEXT_ROW_HASH_SQL) },
  {
    name: 'rdsum-record/3',
    rowHash: async (client, table) => typedRowHashSql(await readTypedColumns(client, parseQualifiedName(table))),
  },
];

/** Runs `use` with pinned settings inside a transaction that is rolled back. */
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

describe.each(variants)('row hash $name', ({ rowHash }) => {
  const totals = async (client: pg.ClientBase, table: string): Promise<Totals> =>
    computeTotals(client, parseQualifiedName(table), await rowHash(client, table));
  /** The totals of `table`, then of it again after `change` ran. */
  const beforeAndAfter = (table: string, change: string) =>
    inRolledBackTransaction(a.shop, async (client) => {
      const before = await totals(client, table);
      await client.query(change);
      return { before, after: await totals(client, table) };
    });

  test('identical data in two clusters sums alike, whatever their defaults and type OIDs', async () => {
    for (const table of [
      'public.customers',
      'public.orders',
      'public.order_items',
      'public.products',
      'public.events',
      'public.page_views',
      'public.documents',
      'public.kinds',
    ]) {
      const [left, right] = await Promise.all(
        [a, b].map((cluster) =>
          withClient(cluster.shop, async (client) => {
            await pinSessionSettings(client);
            return totals(client, table);
          }),
        ),
      );
      expect(right, table).toEqual(left);
      expect(left!.checksum, table).not.toBe('0');
    }
  });

  test('NULL and empty text differ', async () => {
    const { before, after } = await beforeAndAfter(
      'public.customers',
      "update public.customers set notes = '' where id = 3 and notes is null",
    );
    expect(after.rows).toBe(before.rows);
    expect(after.checksum).not.toBe(before.checksum);
  });

  test('numeric scale counts: 1.0 and 1.00 differ', async () => {
    const { before, after } = await beforeAndAfter(
      'public.kinds',
      "update public.kinds set amounts = '{1.50,2.50}' where id = 1",
    );
    expect(after.checksum).not.toBe(before.checksum);
    const column = await inRolledBackTransaction(a.shop, async (client) => {
      await client.query(
        'create table public.n (id int primary key, amount numeric); insert into public.n values (1, 1.0)',
      );
      const one = await totals(client, 'public.n');
      await client.query('update public.n set amount = 1.00');
      return { one, two: await totals(client, 'public.n') };
    });
    expect(column.two.checksum).not.toBe(column.one.checksum);
  });

  test('a duplicated row changes the sum, and so does a second copy (no XOR)', async () => {
    const result = await inRolledBackTransaction(a.shop, async (client) => {
      const before = await totals(client, 'public.page_views');
      await client.query(
        "insert into public.page_views select * from public.page_views where path = '/products/7' limit 1",
      );
      const once = await totals(client, 'public.page_views');
      await client.query(
        "insert into public.page_views select * from public.page_views where path = '/products/7' limit 1",
      );
      return { before, once, twice: await totals(client, 'public.page_views') };
    });
    expect(result.once.rows).toBe(result.before.rows + 1);
    expect(new Set([result.before.checksum, result.once.checksum, result.twice.checksum]).size).toBe(3);
  });

  test('one character changed inside a TOASTed value differs', async () => {
    const { before, after } = await beforeAndAfter(
      'public.documents',
      "update public.documents set body = overlay(body placing 'X' from 5000 for 1) where id = 7",
    );
    expect(after.checksum).not.toBe(before.checksum);
  });

  test('one byte changed in a bytea differs', async () => {
    const { before, after } = await beforeAndAfter(
      'public.products',
      "update public.products set thumbnail = set_byte(thumbnail, 3, get_byte(thumbnail, 3) # 1) where sku = 'SKU-000005'",
    );
    expect(after.checksum).not.toBe(before.checksum);
  });

  test('one field changed inside a jsonb value differs', async () => {
    const { before, after } = await beforeAndAfter(
      'public.orders',
      `update public.orders set shipping = jsonb_set(shipping, '{method}', '"courier"') where id = 11`,
    );
    expect(after.checksum).not.toBe(before.checksum);
  });

  test('the same wall-clock time in another time zone (another instant) differs', async () => {
    const { before, after } = await beforeAndAfter(
      'public.customers',
      "update public.customers set created_at = (created_at at time zone 'UTC') at time zone 'America/New_York' where id = 3",
    );
    expect(after.checksum).not.toBe(before.checksum);
  });

  test('a missing row changes the count and the sum', async () => {
    const { before, after } = await beforeAndAfter(
      'public.order_items',
      'delete from public.order_items where order_id = 7 and line = 1',
    );
    expect(after.rows).toBe(before.rows - 1);
    expect(after.checksum).not.toBe(before.checksum);
  });

  test('values that are equal but not the same data differ: interval units, -0, enum labels', async () => {
    for (const change of [
      "update public.kinds set span = '1 day 12 hours' where id = 2", // '36 hours' = '1 day 12 hours' as intervals
      'update public.kinds set ratio = 0.0 where id = 2', // -0 = 0 as floats
      "update public.kinds set mood = 'sad' where id = 1",
      "update public.kinds set moods = '{sad,ok}' where id = 1",
    ]) {
      const { before, after } = await beforeAndAfter('public.kinds', change);
      expect(after.checksum, change).not.toBe(before.checksum);
    }
  });
});

describe('readTypedColumns', () => {
  test('each column gets the rule that keeps its data exact', async () => {
    const columns = await withClient(a.shop, (client) => readTypedColumns(client, parseQualifiedName('public.kinds')));
    expect(Object.fromEntries(columns.map((c) => [c.name, c.cast ? `${c.rule} ${c.cast}` : c.rule]))).toEqual({
      id: 'value',
      mood: 'text', // enum values hash by OID, which differs between clusters
      moods: 'text',
      ratio: 'send float8send',
      span: 'send interval_send',
      tags: 'send array_send', // dimensions and lower bounds count
      amounts: 'send array_send', // numeric_send inside keeps the scale
      at: 'value',
      pair: 'text',
      doc: 'text', // json has no hash function
    });
    const more = await inRolledBackTransaction(a.shop, async (client) => {
      await client.query(
        'create table public.more (id int primary key, code char(3), bare bpchar, tables regclass[], docs jsonb[], ci text collate "C", body jsonb)',
      );
      return readTypedColumns(client, parseQualifiedName('public.more'));
    });
    expect(Object.fromEntries(more.map((c) => [c.name, c.cast ? `${c.rule} ${c.cast}` : c.rule]))).toEqual({
      id: 'value',
      code: 'value', // char(n) is always padded to n
      bare: 'send bpcharsend',
      tables: 'text', // OIDs differ between clusters: printed as names
      docs: 'send array_send',
      ci: 'value',
      body: 'send jsonb_send', // a number's scale inside the document counts
    });
  });

  test('readTypedColumnsOfTables reads many tables in one query as readTypedColumns reads each, in the order asked', async () => {
    const { batch, each } = await inRolledBackTransaction(a.shop, async (client) => {
      await client.query(
        'create table public.empty (); create schema "we.ird"; create table "we.ird"."t""x" (id bigint, "Doc" jsonb, n numeric, r public.mood[])',
      );
      const present = ['public.kinds', 'public.orders', 'public.empty', '"we.ird"."t""x"', 'public.customers'];
      const refs = [...present.slice(0, 2), 'public.missing', ...present.slice(2)].map(parseQualifiedName);
      const batch = await readTypedColumnsOfTables(client, refs);
      const each = [];
      for (const name of present) each.push(await readTypedColumns(client, parseQualifiedName(name)));
      return { batch, each };
    });
    expect(batch).toEqual([each[0], each[1], undefined, ...each.slice(2)]);
    expect(batch[3]).toEqual([]); // a table without columns exists
    expect(batch[4]!.map((c) => `${c.name} ${c.rule}`)).toEqual(['id value', 'Doc send', 'n numeric', 'r text']);
    await expect(
      withClient(a.shop, (client) => readTypedColumns(client, parseQualifiedName('public.missing'))),
    ).rejects.toThrow('relation "public"."missing" does not exist');
  });

  test('text under a non-deterministic collation is hashed by its bytes, so case counts', async () => {
    const { one, two } = await inRolledBackTransaction(a.shop, async (client) => {
      await client.query(
        "create collation public.ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false)",
      );
      await client.query(
        "create table public.names (id int primary key, name text collate public.ci); insert into public.names values (1, 'Ann')",
      );
      const hash = typedRowHashSql(await readTypedColumns(client, parseQualifiedName('public.names')));
      expect(hash).toContain('pg_catalog.textsend');
      const one = await computeTotals(client, parseQualifiedName('public.names'), hash);
      await client.query("update public.names set name = 'ann'");
      return { one, two: await computeTotals(client, parseQualifiedName('public.names'), hash) };
    });
    expect(two.checksum).not.toBe(one.checksum);
  });
});

/**
 * Changes of a value's stored representation that its type's equality does not see. Each must change every
 * checksum variant. Run on one table with a column per case, one change at a time.
 */
const identityCorpus: Array<{ name: string; change: string }> = [
  { name: 'an array reshaped: {{1,2},{3,4}} to {1,2,3,4}', change: "update public.identity set grid = '{1,2,3,4}'" },
  { name: "an array's lower bound: {1,2} to [0:1]={1,2}", change: "update public.identity set list = '[0:1]={1,2}'" },
  { name: 'a trailing space in a bare bpchar', change: "update public.identity set padded = 'x '::bpchar" },
  {
    name: 'a case change in text under a case-insensitive collation',
    change: "update public.identity set label = 'ANN'",
  },
  {
    name: 'a case change in a text[] under a case-insensitive collation',
    change: "update public.identity set labels = '{ANN,bob}'",
  },
  {
    name: 'a case change in varchar under a case-insensitive collation',
    change: "update public.identity set code = 'ab'",
  },
  { name: '-0 instead of 0 in a float', change: "update public.identity set ratio = '-0'" },
  { name: '-0 instead of 0 inside a float array', change: "update public.identity set ratios = '{-0,1}'" },
  { name: 'a numeric scale inside jsonb: 1.0 to 1.00', change: `update public.identity set doc = '{"n": 1.00}'` },
  { name: 'a number inside jsonb: 2.0 to 2', change: `update public.identity set doc = jsonb_set(doc, '{m}', '2')` },
  {
    name: 'a nested jsonb number written 1.000e2 (stored 100.0) to 100',
    change: `update public.identity set doc = jsonb_set(doc, '{k,max}', '100')`,
  },
  {
    // jsonb's own hash does not see where an array ends: [[1],2] and [[1,2]] hash alike, though not equal.
    name: 'a jsonb array regrouped with the same values: [[1],2] to [[1,2]]',
    change: `update public.identity set doc = jsonb_set(doc, '{g}', '[[1,2]]')`,
  },
  { name: 'a number inside a jsonb domain: 2.0 to 2', change: `update public.identity set wrapped = '{"m": 2}'` },
  { name: 'a numeric scale inside a jsonb[]', change: `update public.identity set docs = '{"{\\"n\\": 1.00}"}'` },
  { name: 'a numeric scale inside a numeric range', change: "update public.identity set span = '[1.00,2)'" },
  { name: "an enum array's lower bound", change: "update public.identity set moods = '[2:2]={happy}'" },
];

describe.each(variants)('every change of the stored representation is seen by $name', ({ name: variant, rowHash }) => {
  test.each(identityCorpus)('$name', async ({ change }) => {
    const { before, after } = await inRolledBackTransaction(a.shop, async (client) => {
      await client.query(
        "create collation public.ci_corpus (provider = icu, locale = 'und-u-ks-level2', deterministic = false)",
      );
      await client.query('create domain public.document as jsonb');
      await client.query(`
        create table public.identity (id int primary key, grid int[], list int[], padded bpchar, label text collate public.ci_corpus,
          labels text[] collate public.ci_corpus, code varchar(5) collate public.ci_corpus, ratio float8, ratios float8[], doc jsonb,
          span numrange, moods public.mood[], docs jsonb[], wrapped public.document);
        insert into public.identity values (1, '{{1,2},{3,4}}', '{1,2}', 'x'::bpchar, 'ann', '{ann,bob}', 'AB', 0, '{0,1}', '{"n": 1.0, "m": 2.0, "k": {"max": 1.000e2}, "g": [[1], 2]}', '[1.0,2)',
          '{happy}', '{"{\\"n\\": 1.0}"}', '{"m": 2.0}')`);
      const table = parseQualifiedName('public.identity');
      const hash = await rowHash(client, 'public.identity');
      const before = await computeTotals(client, table, hash);
      await client.query(change);
      return { before, after: await computeTotals(client, table, hash) };
    });
    expect(after.rows).toBe(before.rows);
    expect(after.checksum, variant).not.toBe(before.checksum);
  });
});

test.each(variants)(
  '$name: a jsonb number written 1e2 and one written 100 are the same stored value, and hash alike',
  async ({ rowHash }) => {
    // jsonb keeps a number as numeric, whose scale after 1e2 is 0: the two documents are byte for byte the same,
    // so a backup that has one where production had the other holds the same data and must not alarm.
    const { before, after, same } = await inRolledBackTransaction(a.shop, async (client) => {
      await client.query(
        `create table public.exponents (id int primary key, doc jsonb); insert into public.exponents values (1, '{"k": 1e2}')`,
      );
      const table = parseQualifiedName('public.exponents');
      const hash = await rowHash(client, 'public.exponents');
      const before = await computeTotals(client, table, hash);
      await client.query(`update public.exponents set doc = '{"k": 100}'`);
      const bytes = await client.query<{ same: boolean }>(
        `select jsonb_send('{"k": 1e2}') = jsonb_send('{"k": 100}') as same`,
      );
      return { before, after: await computeTotals(client, table, hash), same: bytes.rows[0]!.same };
    });
    expect(same).toBe(true);
    expect(after).toEqual(before);
  },
);

test('an rdsum-record/2 checksum is only comparable where it hashed every column as /3 does: not its jsonb columns', async () => {
  const orders = await withClient(a.shop, (client) => readTypedColumns(client, parseQualifiedName('public.orders')));
  expect(columnsHashedOtherwise(orders, 'rdsum-record/2')).toEqual(['shipping']);
  expect(columnsHashedOtherwise(orders, 'rdsum-record/3')).toEqual([]);
  expect(columnsHashedOtherwise(orders, 'rdsum-record/1')).toEqual(orders.map((column) => column.name));
  const customers = await withClient(a.shop, (client) =>
    readTypedColumns(client, parseQualifiedName('public.customers')),
  );
  expect(columnsHashedOtherwise(customers, 'rdsum-record/2')).toEqual([]);
});

test('NaN bits: the typed row hash sees them (float8send), the portable one cannot (every NaN prints as NaN)', async () => {
  const sums = await inRolledBackTransaction(a.shop, async (client) => {
    // 'NaN' is 0x7ff8…; Infinity - Infinity is the CPU's own NaN (0xfff8… on x86): equal as floats, other bytes.
    await client.query(
      "create table public.nans (id int primary key, x float8); insert into public.nans values (1, 'NaN')",
    );
    const table = parseQualifiedName('public.nans');
    const typed = typedRowHashSql(await readTypedColumns(client, table));
    const before = {
      typed: await computeTotals(client, table, typed),
      text: await computeTotals(client, table, TEXT_ROW_HASH_SQL),
    };
    const bits = await client.query<{ a: string; b: string }>(
      "select float8send('NaN')::text as a, float8send('Infinity'::float8 - 'Infinity'::float8)::text as b",
    );
    await client.query("update public.nans set x = 'Infinity'::float8 - 'Infinity'::float8");
    return {
      bits: bits.rows[0]!,
      before,
      after: {
        typed: await computeTotals(client, table, typed),
        text: await computeTotals(client, table, TEXT_ROW_HASH_SQL),
      },
    };
  });
  if (sums.bits.a === sums.bits.b) return; // a CPU whose arithmetic NaN is PostgreSQL's own: nothing to tell apart
  expect(sums.after.typed.checksum).not.toBe(sums.before.typed.checksum);
  expect(sums.after.text.checksum).toBe(sums.before.text.checksum);
});
