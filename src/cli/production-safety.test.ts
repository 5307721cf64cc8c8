// restore-drill never writes to a production source, except its own marker row in `restore_drill`.
// Proved here against a real database: write counters and a full checksum before and after `mark` and `dump`.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { runCli } from '../testing/run-cli.ts';
import { startShopDatabase, type ShopDatabase } from '../testing/shop-database.ts';

let production: ShopDatabase;
let dir: string;
let url: string;

beforeAll(async () => {
  production = await startShopDatabase();
  dir = await mkdtemp(join(tmpdir(), 'production-safety-'));
  const c = production.environment.connectionConfig();
  url = `postgres://${c.user}:${encodeURIComponent(String(c.password))}@${encodeURIComponent(String(c.host))}:${c.port}/${c.database}`;
});
afterAll(async () => {
  await production?.stop();
  await rm(dir, { recursive: true, force: true });
});

interface State {
  /** Per user table: inserted, updated, deleted tuples since the cluster started. */
  writes: Record<string, string>;
  /** md5 over every row of every user table outside restore_drill, in key order. */
  digest: string;
  markers: number;
}

async function state(): Promise<State> {
  const client = new pg.Client(production.environment.connectionConfig());
  await client.connect();
  try {
    // Statistics of other sessions reach the shared counters when they end; give them a moment.
    await new Promise((r) => setTimeout(r, 1200));
    await client.query('select pg_stat_clear_snapshot()');
    const { rows: stats } = await client.query<{ t: string; w: string }>(
      `select schemaname || '.' || relname as t, n_tup_ins || '/' || n_tup_upd || '/' || n_tup_del as w
       from pg_stat_user_tables where schemaname <> 'restore_drill' order by 1`,
    );
    const parts: string[] = [];
    for (const { t } of stats) {
      const { rows } = await client.query<{ d: string }>(
        `select md5(coalesce(string_agg(x::text, '|' order by x::text), '')) as d from ${t} x`,
      );
      parts.push(`${t}:${rows[0]!.d}`);
    }
    const {
      rows: [table],
    } = await client.query<{ r: string | null }>("select to_regclass('restore_drill.markers')::text as r");
    const markers = table?.r
      ? (await client.query<{ n: number }>('select count(*)::int as n from restore_drill.markers')).rows[0]!.n
      : 0;
    return { writes: Object.fromEntries(stats.map((s) => [s.t, s.w])), digest: parts.join(','), markers };
  } finally {
    await client.end();
  }
}

test('mark writes one marker row and nothing else', async () => {
  const before = await state();
  const out = await runCli(['mark', '--url', url]);
  expect(out.code).toBe(0);
  const after = await state();
  expect(after.writes).toEqual(before.writes);
  expect(after.digest).toBe(before.digest);
  expect(after.markers).toBe(before.markers + 1);
});

test('dump writes nothing at all', async () => {
  const before = await state();
  const out = await runCli(['dump', '--url', url, '--out', join(dir, 'prod.dump')]);
  expect(out.code, out.stderr).toBe(0);
  const after = await state();
  expect(after).toEqual(before);
});

test('the connections that only read are read-only in the server, not by convention', async () => {
  const { openConnectionPool } = await import('../markers/connection-pool.ts');
  await using pool = await openConnectionPool(production.environment.connectionConfig(), {
    snapshot: 'shared',
    size: 2,
  });
  const results = await pool.map([1, 2], async (client) => {
    try {
      await client.query('create table should_not_exist (id int)');
      return 'written';
    } catch (error) {
      return (error as Error).message;
    }
  });
  expect(results).toEqual([
    expect.stringMatching(/read-only transaction/),
    expect.stringMatching(/read-only transaction/),
  ]);
});
