import pg from 'pg';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { sequenceChecks } from '../verify/sequence-checks.ts';
import { startShopCluster, type ShopCluster } from '../verify/shop-cluster.testkit.ts';
import { compareTableSchemas, readTableSchemas } from './table-schema.ts';

let cluster: ShopCluster;
beforeAll(async () => {
  cluster = await startShopCluster('schema test');
});
afterAll(async () => {
  await cluster?.stop();
});

async function withCopy<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client(await cluster.copy());
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

test('the schema of the shop fixture names columns, indexes and constraints', async () => {
  const schema = await withCopy((client) => readTableSchemas(client));
  expect(Object.keys(schema).sort()).toEqual([
    'public.customers',
    'public.documents',
    'public.events',
    'public.order_items',
    'public.orders',
    'public.page_views',
    'public.products',
  ]);
  expect(schema['public.orders']!.indexes).toContain(
    'CREATE INDEX orders_customer_id_idx ON public.orders USING btree (customer_id)',
  );
  expect(schema['public.order_items']!.constraints).toContain('order_items_quantity_check: CHECK ((quantity > 0))');
  expect(schema['public.customers']!.columns).toContain('notes text');
});

test('identical schemas pass; a dropped index, a dropped constraint and a changed column are named', async () => {
  const expected = await withCopy((client) => readTableSchemas(client));
  const checks = await withCopy(async (client) => {
    expect((await compareTableSchemas(client, expected, 'manifest')).every((c) => c.status === 'passed')).toBe(true);
    await client.query('drop index orders_customer_id_idx');
    await client.query('alter table order_items drop constraint order_items_quantity_check');
    await client.query('alter table customers alter column notes type varchar(200)');
    await client.query('alter table products rename to products_gone');
    return compareTableSchemas(client, expected, 'manifest');
  });
  const byTable = Object.fromEntries(checks.map((c) => [c.table, c]));
  expect(byTable['public.orders']).toMatchObject({
    status: 'failed',
    detail: expect.stringContaining('missing indexes: CREATE INDEX orders_customer_id_idx'),
  });
  expect(byTable['public.order_items']).toMatchObject({
    status: 'failed',
    detail: expect.stringContaining('missing constraints: order_items_quantity_check'),
  });
  expect(byTable['public.customers']).toMatchObject({
    status: 'failed',
    detail: expect.stringMatching(/missing columns: notes text \| unexpected columns: notes character varying\(200\)/),
  });
  expect(byTable['public.products']!.status).toBe('skipped');
  expect(byTable['public.events']!.status).toBe('passed');
});

test('sequences: in step with the data passes; one reset below the max key fails and names it', async () => {
  const checks = await withCopy(async (client) => {
    const ok = await sequenceChecks(client);
    expect(ok.map((c) => c.name).sort()).toEqual([
      'sequence public.customers_id_seq',
      'sequence public.events_id_seq',
      'sequence public.orders_id_seq',
    ]);
    expect(ok.every((c) => c.status === 'passed')).toBe(true);
    await client.query("select setval('orders_id_seq', 5)");
    return sequenceChecks(client);
  });
  expect(checks.find((c) => c.name === 'sequence public.orders_id_seq')).toMatchObject({
    status: 'failed',
    expected: '≥ 2000 (max public.orders.id)',
    actual: '5',
    table: 'public.orders',
  });
});

test('sequences and schemas of tables whose names have dots are read and named apart', async () => {
  const { checks, schemas } = await withCopy(async (client) => {
    await client.query(`create schema "a.b"; create table "a.b"."c" (id serial primary key); insert into "a.b"."c" default values;
                        create schema a; create table a."b.c" (id serial primary key, note text); insert into a."b.c" (note) values ('x'), ('y');
                        select setval('a."b.c_id_seq"', 1)`);
    return {
      checks: await sequenceChecks(client),
      schemas: await readTableSchemas(client, ['"a.b"."c"', '"a"."b.c"']),
    };
  });
  expect(checks.find((c) => c.name === 'sequence "a.b"."c_id_seq"')).toMatchObject({
    status: 'passed',
    table: '"a.b"."c"',
  });
  expect(checks.find((c) => c.name === 'sequence "a"."b.c_id_seq"')).toMatchObject({
    status: 'failed',
    expected: '≥ 2 (max "a"."b.c".id)',
    table: '"a"."b.c"',
  });
  expect(schemas['"a.b"."c"']!.columns).toEqual(['id integer not null']);
  expect(schemas['"a"."b.c"']!.columns).toEqual(['id integer not null', 'note text']);
});
