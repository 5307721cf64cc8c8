import { rmSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import pg from 'pg';
import { seedShop } from '../../fixtures/shop/seed-shop.ts';
import { localPostgres } from '../environments/local/local-postgres.ts';
import { newRunId } from '../environments/labels.ts';
import type { StartedEnvironment } from '../environments/environment.ts';
import { findPgBinaries } from '../postgres/pg-binaries.ts';
import { runCommand } from '../postgres/run-command.ts';
import { dumpWithManifest, manifestPathFor } from '../markers/dump-with-manifest.ts';
import { connectionUrl } from './connection-url.ts';

/** A disposable PostgreSQL seeded with the shop fixture, able to make real `pg_dump` archives of itself. */
export interface ShopDatabase extends AsyncDisposable {
  readonly environment: StartedEnvironment;
  /** Runs `pg_dump -Fc` (custom) or `-Fd` (directory) into `out` and returns `out`. */
  dump(out: string, format: 'custom' | 'directory'): Promise<string>;
  /** Runs one SQL statement, e.g. to make the next dump differ from the previous one. */
  query(sql: string): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts a local cluster, seeds the shop fixture into it, and dumps it with the real `pg_dump` — tests of
 * sources work on genuine archives, not hand-made bytes.
 *
 * @example
 * const shop = await startShopDatabase();
 * afterAll(() => shop.stop());
 * await shop.dump(join(dir, 'shop.dump'), 'custom');
 */
export async function startShopDatabase(): Promise<ShopDatabase> {
  const environment = await localPostgres().start({ runId: newRunId(), drillName: 'shop fixture', log: () => {} });
  const withClient = async (work: (client: pg.Client) => Promise<unknown>) => {
    const client = new pg.Client(environment.connectionConfig());
    await client.connect();
    try {
      await work(client);
    } finally {
      await client.end();
    }
  };
  try {
    await withClient((client) => seedShop(client));
  } catch (error) {
    await environment.stop();
    throw error;
  }
  const pgDump = findPgBinaries({ tools: ['pg_dump'], minMajor: Number(environment.version.split('.')[0]) }).path(
    'pg_dump',
  );
  return {
    environment,
    async dump(out, format) {
      await runCommand(pgDump, [format === 'custom' ? '-Fc' : '-Fd', '--no-owner', '-f', out], {
        env: environment.libpqEnv(),
      });
      return out;
    },
    query: (sql) => withClient((client) => client.query(sql)),
    stop: () => environment.stop(),
    [Symbol.asyncDispose]: () => environment.stop(),
  };
}

/**
 * A `restore-drill dump` of the seeded shop database at `out` (markers and the manifest beside it, as
 * production would have them). The database is seeded and dumped once per test process (a worker runs many
 * files in turn): later calls copy that dump and its manifest, which name no path, instead of starting a
 * cluster, seeding it and dumping it again (≈ 3 s each). Only for tests that read the dump; a test that
 * changes production before dumping uses {@link startShopDatabase}.
 *
 * @example
 * const dump = await markedShopDump(join(dir, 'shop.dump'));
 * await runCli(['check', '--dump', dump]);
 */
export async function markedShopDump(out: string): Promise<string> {
  shared ??= dumpSharedShop().catch((error: unknown) => {
    shared = undefined;
    throw error;
  });
  const original = await shared;
  await mkdir(dirname(out), { recursive: true });
  await copyFile(original, out);
  await copyFile(manifestPathFor(original), manifestPathFor(out));
  return out;
}

let shared: Promise<string> | undefined;

async function dumpSharedShop(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'shop-dump-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  await using shop = await startShopDatabase();
  return (await dumpWithManifest(connectionUrl(shop.environment.connectionConfig()), join(dir, 'shop.dump'))).path;
}
