import { mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CommandFailedError, ConfigError } from '../errors.ts';
import { newRunId } from './labels.ts';
import { localPostgres } from './local/local-postgres.ts';
import { newerDumpHeader } from '../testing/newer-dump-header.ts';
import { startShopDatabase, type ShopDatabase } from '../testing/shop-database.ts';
import { readDumpHeader } from '../postgres/dump-header.ts';
import { RestoreFailedError, RestoreIncompleteError } from '../postgres/restore-errors.ts';
import { findPgBinaries } from '../postgres/pg-binaries.ts';

let shop: ShopDatabase;
let dir: string;
let dumpPath: string;

beforeAll(async () => {
  shop = await startShopDatabase();
  dir = await mkdtemp(join(tmpdir(), 'pg-restore-test-'));
  dumpPath = await shop.dump(join(dir, 'shop.dump'), 'custom');
});
afterAll(async () => {
  await shop?.stop();
  await rm(dir, { recursive: true, force: true });
});

const context = () => ({ runId: newRunId(), drillName: 'pg-restore test', log: () => {} });
const restorable = (path: string) => ({
  kind: 'pg-dump' as const,
  dump: { path, format: 'custom' as const, digest: 'sha256:test' },
});

describe('readDumpHeader', () => {
  test('reads versions and database from a real archive', async () => {
    const header = await readDumpHeader(dumpPath);
    const local = findPgBinaries({ tools: ['pg_dump'] });
    expect(header).toMatchObject({
      format: 'custom',
      database: 'restored',
      pgDumpVersion: local.version,
      serverVersion: shop.environment.version,
    });
    expect(header.archiveVersion).toMatch(/^1\.\d+/);
  });

  test('a directory dump is reported as directory format', async () => {
    const path = await shop.dump(join(dir, 'shop.dir'), 'directory');
    expect((await readDumpHeader(path)).format).toBe('directory');
  });

  test('a file that is not an archive, and a truncated header, are named clearly', async () => {
    await writeFile(join(dir, 'plain.sql'), 'create table x ();');
    await expect(readDumpHeader(join(dir, 'plain.sql'))).rejects.toThrow(/is not a pg_dump archive/);
    const bytes = await readFile(dumpPath);
    await writeFile(join(dir, 'short.dump'), bytes.subarray(0, 12));
    await expect(readDumpHeader(join(dir, 'short.dump'))).rejects.toThrow(/is truncated/);
    await expect(readDumpHeader(join(dir, 'missing.dump'))).rejects.toThrow(ConfigError);
  });
});

describe('pgRestore', () => {
  test('restores a real dump: the data is there', async () => {
    await using env = await localPostgres().start(context());
    await env.restore(restorable(dumpPath), { log: () => {} });
    const client = new pg.Client(env.connectionConfig());
    await client.connect();
    const { rows } = await client.query('select count(*)::int as n from orders');
    await client.end();
    expect(rows[0].n).toBe(2000);
  });

  test('a dump from a newer pg_dump is refused naming both versions and what to install', async () => {
    const header = newerDumpHeader('17.2');
    await writeFile(join(dir, 'newer.dump'), header);
    await using env = await localPostgres().start(context());
    const local = findPgBinaries({ tools: ['pg_restore'] }).version;
    const error = await env.restore(restorable(join(dir, 'newer.dump')), { log: () => {} }).catch((e) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toContain('pg_dump 17.2');
    expect(error.message).toContain(local);
    expect(error.hint).toContain('postgresql-client-17');
  });

  test('a truncated dump fails with pg_restore’s evidence, not "restore failed"', async () => {
    const bytes = await readFile(dumpPath);
    const truncated = join(dir, 'truncated.dump');
    const handle = await open(truncated, 'w');
    await handle.write(bytes.subarray(0, Math.floor(bytes.length / 2)));
    await handle.close();
    await using env = await localPostgres().start(context());
    const error = await env.restore(restorable(truncated), { log: () => {} }).catch((e) => e);
    expect(error).toBeInstanceOf(CommandFailedError);
    expect(error.command).toBe('pg_restore');
    expect(error.code).not.toBe(0);
    expect(error.message).toMatch(/pg_restore exited with code \d+: .+/);
  });

  test('data that violates a foreign key (already inconsistent in production), with two jobs: the rest is restored, the error names the key with its DETAIL', async () => {
    // Production's data can be inconsistent: triggers (and so foreign keys) are off under session_replication_role = replica.
    await shop.query(
      'set session_replication_role = replica; insert into order_items (order_id, line, sku, quantity, unit_price) select 999999, 1, sku, 1, 1 from products limit 1',
    );
    const path = join(dir, 'fk-violation.dump');
    try {
      await shop.dump(path, 'custom');
    } finally {
      await shop.query('delete from order_items where order_id = 999999');
    }
    await using env = await localPostgres().start(context());
    const error = await env.restore(restorable(path), { jobs: 2, log: () => {} }).catch((e) => e);
    expect(error).toBeInstanceOf(RestoreIncompleteError);
    expect(error.summary.count).toBe(1);
    expect(error.summary.errors[0]).toMatchObject({
      kind: 'object',
      object: 'FK CONSTRAINT order_items_order_id_fkey on public.order_items',
      cause: 'foreign key violation',
      detail: 'Key (order_id)=(999999) is not present in table "orders".',
    });
    expect(error.message).not.toMatch(/damaged|worker process died/);
    const client = new pg.Client(env.connectionConfig());
    await client.connect();
    const { rows } = await client.query(
      "select (select count(*)::int from orders) as orders, (select count(*)::int from order_items where order_id = 999999) as orphans, (select count(*)::int from pg_constraint where conname = 'order_items_order_id_fkey') as fks",
    );
    await client.end();
    expect(rows[0]).toEqual({ orders: 2000, orphans: 1, fks: 0 });
  });

  test('a truncated dump restored with two jobs is "damaged", named by the worker\'s own error', async () => {
    const bytes = await readFile(dumpPath);
    const truncated = join(dir, 'truncated-j2.dump');
    await writeFile(truncated, bytes.subarray(0, Math.floor(bytes.length / 2)));
    await using env = await localPostgres().start(context());
    const error = await env.restore(restorable(truncated), { jobs: 2, log: () => {} }).catch((e) => e);
    expect(error).toBeInstanceOf(RestoreFailedError);
    expect(error.kind).toBe('damaged-archive');
    expect(error.message).toMatch(
      /^pg_restore exited with code 1: the archive is damaged: pg_restore could not read it \(.+\)$/,
    );
    expect(error.message).not.toMatch(/worker process died/);
  });

  test('a policy granted to a role the disposable cluster lacks restores: the role gets a NOLOGIN stand-in, never a "damaged" error', async () => {
    await shop.query(
      'create role app_reader nologin; create policy documents_read on documents for select to app_reader using (true)',
    );
    const path = join(dir, 'missing-role.dump');
    try {
      await shop.dump(path, 'custom');
    } finally {
      await shop.query('drop policy documents_read on documents; drop role app_reader');
    }
    await using env = await localPostgres().start(context());
    await env.restore(restorable(path), { jobs: 2, log: () => {} });
    const client = new pg.Client(env.connectionConfig());
    await client.connect();
    try {
      const { rows } = await client.query(
        "select r.rolcanlogin, p.polname from pg_roles r join pg_policy p on r.oid = any(p.polroles) where r.rolname = 'app_reader'",
      );
      expect(rows).toEqual([{ rolcanlogin: false, polname: 'documents_read' }]);
    } finally {
      await client.end();
    }
  });
});
