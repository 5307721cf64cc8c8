import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ConfigError } from '../errors.ts';
import { chooseMode, discoverTables, parseTableSelection, planTables, type TableInfo } from './table-discovery.ts';
import { sql, startShopCluster, waitUntil, withClient, type ShopCluster } from '../verify/shop-cluster.testkit.ts';

let cluster: ShopCluster;
let tables: TableInfo[];

beforeAll(async () => {
  cluster = await startShopCluster('table discovery');
  await sql(
    cluster.shop,
    // Qualified names: the cluster's superuser is called restore_drill, so "$user" in search_path would
    // put unqualified tables into the restore_drill schema once it exists.
    `create schema restore_drill; create table restore_drill.markers (id bigserial primary key);
     create view public.order_totals as select customer_id, sum(total) from public.orders group by 1;
     create table public.measurements (id bigint, at date not null) partition by range (at);
     create table public.measurements_2025 partition of public.measurements for values from ('2025-01-01') to ('2026-01-01');
     create table public.measurements_2026 partition of public.measurements for values from ('2026-01-01') to ('2027-01-01');
     create schema audit; create table audit.log (id smallint primary key, line text);`,
  );
  tables = await withClient(cluster.shop, discoverTables);
});
afterAll(async () => {
  await cluster?.stop();
});

const find = (name: string) => tables.find((t) => `${t.schema}.${t.name}` === name)!;

describe('discoverTables', () => {
  test('lists user tables with their primary keys; not views, partitions, restore_drill or temp tables', async () => {
    expect(tables.map((t) => `${t.schema}.${t.name}`)).toEqual([
      'audit.log',
      'public.customers',
      'public.documents',
      'public.events',
      'public.measurements',
      'public.order_items',
      'public.orders',
      'public.page_views',
      'public.products',
    ]);
    expect(find('public.customers')).toMatchObject({
      primaryKey: [{ name: 'id', type: 'integer' }],
      integerKey: 'id',
      partitioned: false,
    });
    expect(find('public.events')).toMatchObject({ primaryKey: [{ name: 'id', type: 'bigint' }], integerKey: 'id' });
    expect(find('audit.log')).toMatchObject({ integerKey: 'id' });
    expect(find('public.products')).toMatchObject({ primaryKey: [{ name: 'sku', type: 'text' }], integerKey: null });
    expect(find('public.order_items').primaryKey.map((c) => c.name)).toEqual(['order_id', 'line']);
    expect(find('public.page_views')).toMatchObject({ primaryKey: [], integerKey: null });
    expect(find('public.measurements')).toMatchObject({ partitioned: true, primaryKey: [] });
    // A temporary table is only visible to its own session: discover from that session.
    const withTemp = await withClient(cluster.shop, async (client) => {
      await client.query('create temp table scratch (id int primary key)');
      return discoverTables(client);
    });
    expect(withTemp.map((t) => t.name)).not.toContain('scratch');
  });

  test('auto mode: append-only for an integer key without updates or deletes, otherwise count', async () => {
    const copy = await cluster.copy();
    const fresh = await withClient(copy, discoverTables);
    const modes = Object.fromEntries(fresh.map((t) => [`${t.schema}.${t.name}`, chooseMode(t)]));
    expect(modes).toMatchObject({
      'public.customers': 'append-only',
      'public.events': 'append-only',
      'public.products': 'count',
      'public.order_items': 'count',
      'public.page_views': 'count',
    });
    // Statistics reach pg_stat_user_tables when the writing session ends (or idles), so wait for them.
    await sql(
      copy,
      `update customers set notes = 'changed' where id = 1; delete from events where id = 3000;
       insert into public.measurements values (1, '2025-06-01'), (2, '2026-06-01');
       update public.measurements set id = 3; delete from public.measurements where at > '2026-01-01'`,
    );
    const seen = await waitUntil(async () => {
      const now = await withClient(copy, discoverTables);
      const find = (name: string) => now.find((t) => t.name === name)!;
      return (
        find('customers').updates === 1 &&
        find('events').deletes === 1 &&
        // A partitioned table's own statistics are its partitions' together.
        find('measurements').updates === 2 &&
        find('measurements').deletes === 1
      );
    });
    expect(seen).toBe(true);
    const later = await withClient(copy, discoverTables);
    expect(chooseMode(later.find((t) => t.name === 'customers')!)).toBe('count');
    expect(chooseMode(later.find((t) => t.name === 'events')!)).toBe('count');
    expect(chooseMode(later.find((t) => t.name === 'orders')!)).toBe('append-only');
  });
});

describe('planTables', () => {
  test('accepts name, schema.name and NAME:MODE; forceExact makes every table exact', () => {
    const plans = planTables(tables, {
      tables: [
        parseTableSelection('events:append-only'),
        parseTableSelection('public.orders:exact'),
        parseTableSelection('audit.log:count'),
        { name: 'orders' },
      ],
    });
    expect(plans.map((p) => [`${p.table.schema}.${p.table.name}`, p.mode])).toEqual([
      ['public.events', 'append-only'],
      ['public.orders', 'exact'],
      ['audit.log', 'count'],
    ]);
    expect(new Set(planTables(tables, { forceExact: true, mode: 'count' }).map((p) => p.mode))).toEqual(
      new Set(['exact']),
    );
    expect(planTables(tables, { mode: 'count' })).toHaveLength(tables.length);
  });

  test('an unknown table is a ConfigError naming it', () => {
    expect(() => planTables(tables, { tables: [{ name: 'nope' }] })).toThrow(ConfigError);
    expect(() => planTables(tables, { tables: [{ name: 'nope' }] })).toThrow('table public.nope not found');
    expect(() => planTables(tables, { tables: [{ name: 'restore_drill.markers' }] })).toThrow(
      'restore_drill.markers not found',
    );
  });

  test('append-only without a single integer key is a ConfigError saying which modes fit', () => {
    const noKey = () => planTables(tables, { tables: [parseTableSelection('page_views:append-only')] });
    expect(noKey).toThrow(ConfigError);
    expect(noKey).toThrow(/public\.page_views cannot be marked append-only: it has no primary key/);
    try {
      noKey();
    } catch (error) {
      expect((error as ConfigError).hint).toMatch(/public\.page_views:exact .* public\.page_views:count/);
    }
    expect(() => planTables(tables, { tables: [{ name: 'order_items', mode: 'append-only' }] })).toThrow(
      'it has the primary key (order_id bigint, line integer)',
    );
  });

  test('parseTableSelection rejects an unknown mode', () => {
    expect(parseTableSelection('audit.log')).toEqual({ name: 'audit.log' });
    expect(() => parseTableSelection('orders:sometimes')).toThrow(/unknown marker mode "sometimes"/);
  });
});
