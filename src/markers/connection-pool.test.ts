import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openConnectionPool } from './connection-pool.ts';
import { sql, startShopCluster, type ShopCluster } from '../verify/shop-cluster.testkit.ts';

let cluster: ShopCluster;

beforeAll(async () => {
  cluster = await startShopCluster('connection pool');
});
afterAll(async () => {
  await cluster?.stop();
});

describe('openConnectionPool', () => {
  test('every connection sees the exported snapshot, not what was committed after it', async () => {
    await using pool = await openConnectionPool(cluster.shop, { snapshot: 'shared', size: 3 });
    expect(pool.snapshotId).toMatch(/^[0-9A-F]+-[0-9A-F]+-\d+$/);
    await sql(cluster.shop, "insert into events (occurred_at, kind, payload) values (now(), 'late', '{}')");
    const seen = await pool.map([1, 2, 3, 4, 5, 6], async (client, item) => {
      const { rows } = await client.query<{ n: number; pid: number }>(
        'select count(*)::int as n, pg_backend_pid() as pid from public.events',
      );
      return { item, ...rows[0]! };
    });
    expect(seen.map((s) => s.item)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(new Set(seen.map((s) => s.n))).toEqual(new Set([3000]));
    expect(new Set(seen.map((s) => s.pid)).size).toBeGreaterThan(1);
    const { rows } = await sql(cluster.shop, 'select count(*)::int as n from events');
    expect(rows[0].n).toBe(3001);
    await sql(cluster.shop, "delete from events where kind = 'late'");
  });

  test('connections are read-only and have the checksum settings pinned; only a writing leader may write', async () => {
    await using pool = await openConnectionPool(cluster.shop, { snapshot: 'shared', size: 2, leaderWrites: true });
    const settings = await pool.map([0, 1], async (client) => {
      const { rows } = await client.query<{ tz: string; ro: string; ds: string }>(
        "select current_setting('TimeZone') as tz, current_setting('transaction_read_only') as ro, current_setting('DateStyle') as ds",
      );
      return rows[0]!;
    });
    expect(settings).toEqual([
      { tz: 'UTC', ro: 'off', ds: 'ISO, YMD' },
      { tz: 'UTC', ro: 'on', ds: 'ISO, YMD' },
    ]);
    await using readers = await openConnectionPool(cluster.shop, { snapshot: 'none', size: 2 });
    await expect(
      readers.leader.query("insert into public.events (occurred_at, kind, payload) values (now(), 'x', '{}')"),
    ).rejects.toThrow(/read-only transaction/);
  });

  test('the first failing task is thrown after the running ones finish', async () => {
    await using pool = await openConnectionPool(cluster.shop, { snapshot: 'none', size: 2 });
    const finished: number[] = [];
    await expect(
      pool.map([1, 2, 3], async (client, item) => {
        if (item === 1) throw new Error('task 1 failed');
        await client.query('select pg_sleep(0.05)');
        finished.push(item);
      }),
    ).rejects.toThrow('task 1 failed');
    expect(finished.length).toBeLessThan(3);
  });

  test('run() queues tasks while every connection is busy, and a failed task fails only itself', async () => {
    await using pool = await openConnectionPool(cluster.shop, { snapshot: 'none', size: 2 });
    let running = 0;
    let most = 0;
    const task = (fail: boolean) =>
      pool.run(async (client) => {
        most = Math.max(most, ++running);
        try {
          await client.query('select pg_sleep(0.05)');
          if (fail) throw new Error('this task failed');
          return (await client.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;
        } finally {
          running--;
        }
      });
    const results = await Promise.allSettled([task(false), task(true), task(false), task(false), task(false)]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'fulfilled']);
    expect(most).toBe(2);
    expect(new Set(results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []))).size).toBe(2);
    await pool.close();
    await expect(pool.run(async () => 1)).rejects.toThrow(/closed/);
  });
});
