import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { RestoreDrillError } from '../errors.ts';
import type { StartedEnvironment } from '../environments/environment.ts';
import { pgDumpRestorable } from '../model/recovery-point.ts';
import { startShopDatabase, type ShopDatabase } from '../testing/shop-database.ts';
import { assertDisposable } from './disposable-database.ts';
import { pgRestore } from '../environments/pg-restore.ts';

let shop: ShopDatabase;
let dir: string;
let dump: string;

beforeAll(async () => {
  shop = await startShopDatabase();
  dir = await mkdtemp(join(tmpdir(), 'disposable-test-'));
  dump = await shop.dump(join(dir, 'shop.dump'), 'custom');
  const admin = new pg.Client(shop.environment.connectionConfig('postgres'));
  await admin.connect();
  await admin.query('create database production');
  await admin.end();
});
afterAll(async () => {
  await shop?.stop();
  await rm(dir, { recursive: true, force: true });
});

test("an environment's own database carries its run's label, and only that run's", async () => {
  await expect(assertDisposable(shop.environment.connectionConfig(), shop.environment.runId)).resolves.toBeUndefined();
  await expect(assertDisposable(shop.environment.connectionConfig(), 'rd-another-run')).rejects.toThrow(
    /refusing to restore into \S+\/restored: it is not a disposable database created by this run \(rd-another-run\)/,
  );
});

test('a restore into a database this run did not create is refused, and that database is left untouched', async () => {
  // An environment that hands out a connection to somewhere else: a bug, or production by mistake.
  const elsewhere: StartedEnvironment = {
    ...shop.environment,
    kind: 'misconfigured',
    version: shop.environment.version,
    runId: shop.environment.runId,
    database: 'production',
    connectionConfig: () => shop.environment.connectionConfig('production'),
    libpqEnv: () => shop.environment.libpqEnv('production'),
    restore: async () => {},
    stop: async () => {},
    [Symbol.asyncDispose]: async () => {},
  };
  const error = await pgRestore(
    elsewhere,
    pgDumpRestorable({ path: dump, format: 'custom', digest: 'sha256:x' }).dump,
    { log: () => {} },
  ).catch((e) => e);
  expect(error).toBeInstanceOf(RestoreDrillError);
  expect(error.message).toMatch(/refusing to restore into .*\/production/);
  const client = new pg.Client(shop.environment.connectionConfig('production'));
  await client.connect();
  const { rows } = await client.query("select count(*)::int as n from pg_tables where schemaname = 'public'");
  await client.end();
  expect(rows[0].n).toBe(0);
});
