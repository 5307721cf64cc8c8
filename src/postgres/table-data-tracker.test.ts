import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { SHOP_ROWS } from '../../fixtures/shop/seed-shop.ts';
import { newRunId } from '../environments/labels.ts';
import { localPostgres } from '../environments/local/local-postgres.ts';
import { startShopDatabase, type ShopDatabase } from '../testing/shop-database.ts';
import { parseTableOfContents } from './table-data-tracker.ts';

let shop: ShopDatabase;
let dir: string;
let dumpPath: string;

beforeAll(async () => {
  shop = await startShopDatabase();
  dir = await mkdtemp(join(tmpdir(), 'table-data-tracker-test-'));
  dumpPath = await shop.dump(join(dir, 'shop.dump'), 'custom');
});
afterAll(async () => {
  await shop?.stop();
  await rm(dir, { recursive: true, force: true });
});

const restorable = () => ({
  kind: 'pg-dump' as const,
  dump: { path: dumpPath, format: 'custom' as const, digest: 'sha256:test' },
});

/**
 * Restores the shop dump with `jobs` and, at the moment each table is reported, reads its row count, whether
 * its primary key exists yet, and whether pg_restore is still connected (still restoring).
 */
async function restoreWatching(jobs: number) {
  await using env = await localPostgres().start({ runId: newRunId(), drillName: 'tracker test', log: () => {} });
  const client = new pg.Client(env.connectionConfig());
  await client.connect();
  const seen: Array<Promise<{ table: string; rows: number; primaryKey: boolean; duringRestore: boolean }>> = [];
  try {
    await env.restore(restorable(), {
      jobs,
      log: () => {},
      onTableRestored: (table) => {
        const name = `${pg.escapeIdentifier(table.schema)}.${pg.escapeIdentifier(table.name)}`;
        seen.push(
          client
            .query<{ rows: number; pk: boolean; restoring: boolean }>(
              `select (select count(*)::int from only ${name}) as rows,
                      exists (select 1 from pg_index where indrelid = $1::regclass and indisprimary) as pk,
                      exists (select 1 from pg_stat_activity where application_name = 'pg_restore') as restoring`,
              [name],
            )
            .then(({ rows }) => ({
              table: `${table.schema}.${table.name}`,
              rows: rows[0]!.rows,
              primaryKey: rows[0]!.pk,
              duringRestore: rows[0]!.restoring,
            })),
        );
      },
    });
    return await Promise.all(seen);
  } finally {
    await client.end();
  }
}

describe('onTableRestored with pg_restore', () => {
  test('with several jobs, each table is reported once while pg_restore runs, with all its rows and its primary key', async () => {
    const seen = await restoreWatching(2);
    expect(seen.map((s) => s.table).sort()).toEqual(Object.keys(SHOP_ROWS).sort());
    for (const { table, rows, primaryKey } of seen) {
      expect(rows, table).toBe(SHOP_ROWS[table as keyof typeof SHOP_ROWS]);
      expect(primaryKey, table).toBe(table !== 'public.page_views'); // the one table without a primary key
    }
    expect(seen.some((s) => s.duringRestore)).toBe(true);
  });

  test('with one job, every table is reported, with all its rows, once the restore has finished', async () => {
    const seen = await restoreWatching(1);
    expect(seen.map((s) => s.table).sort()).toEqual(Object.keys(SHOP_ROWS).sort());
    expect(seen.every((s) => s.rows === SHOP_ROWS[s.table as keyof typeof SHOP_ROWS])).toBe(true);
  });
});

describe('parseTableOfContents', () => {
  const list = [
    ';',
    '; Archive created at 2026-11-23 18:29:55 UTC',
    '215; 1259 16520 TABLE public accounts postgres',
    '3383; 0 16520 TABLE DATA public accounts postgres',
    '3384; 0 16530 TABLE DATA sales orders ',
    '3385; 0 16531 TABLE DATA public my table postgres',
    '3386; 0 16532 TABLE DATA public dup postgres',
    '3387; 0 16533 TABLE DATA public dup postgres',
    '3221; 2606 16528 CONSTRAINT public accounts accounts_email_key postgres',
    '3223; 2606 16526 CONSTRAINT public accounts accounts_pkey postgres',
    '3224; 1259 16542 INDEX public orders_account_id_idx postgres',
    '3237; 2606 16537 FK CONSTRAINT sales orders orders_account_id_fkey postgres',
    '3240; 0 16530 ROW SECURITY sales orders ',
  ].join('\n');

  test('maps data items to tables and collects the steps that lock them exclusively', () => {
    const toc = parseTableOfContents(list);
    expect(toc.data).toEqual(
      new Map([
        [3383, { schema: 'public', name: 'accounts' }],
        [3384, { schema: 'sales', name: 'orders' }],
      ]),
    );
    expect(toc.pending).toEqual(
      new Map([
        ['public.accounts', new Set([3221, 3223])],
        ['sales.orders', new Set([3240])],
      ]),
    );
  });

  test('restored at data: no exclusive steps are waited for', () => {
    const toc = parseTableOfContents(list, 'data');
    expect(toc.data.size).toBe(2);
    expect([...toc.pending.values()].every((ids) => ids.size === 0)).toBe(true);
  });
});
