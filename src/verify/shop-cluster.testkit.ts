// Test support for src/verify: one disposable cluster holding the seeded shop fixture as a template database,
// so each test gets its own copy in a fraction of a second instead of starting and seeding a cluster.
import pg from 'pg';
import { seedShop, SHOP_ROWS } from '../../fixtures/shop/seed-shop.ts';
import type { StartedEnvironment } from '../environments/environment.ts';
import { newRunId } from '../environments/labels.ts';
import { localPostgres } from '../environments/local/local-postgres.ts';

/** A started cluster with the shop fixture in database `shop`. */
export interface ShopCluster extends AsyncDisposable {
  readonly env: StartedEnvironment;
  /** Connection configuration of the seeded `shop` database (used as the template of copies). */
  readonly shop: pg.ClientConfig;
  /** A new database copied from `shop` (which must have no open connections). */
  copy(): Promise<pg.ClientConfig>;
  stop(): Promise<void>;
}

let copies = 0;

/** Starts a local cluster and seeds the shop fixture into its database `shop`. */
export async function startShopCluster(name = 'verify test'): Promise<ShopCluster> {
  const env = await startCluster(name);
  try {
    await withClient(env.connectionConfig('postgres'), (client) => client.query('create database shop'));
    const shop = env.connectionConfig('shop');
    await withClient(shop, (client) => seedShop(client));
    return {
      env,
      shop,
      async copy() {
        const database = `shop_copy_${++copies}`;
        await withClient(env.connectionConfig('postgres'), (client) =>
          client.query(`create database ${database} template shop`),
        );
        return env.connectionConfig(database);
      },
      stop: () => env.stop(),
      [Symbol.asyncDispose]: () => env.stop(),
    };
  } catch (error) {
    await env.stop();
    throw error;
  }
}

/** Starts an empty local cluster (database `restored`). */
export function startCluster(name = 'verify test'): Promise<StartedEnvironment> {
  return localPostgres().start({ runId: newRunId(), drillName: name, log: () => {} });
}

/** Runs `use` on a fresh connection and closes it. */
export async function withClient<T>(config: pg.ClientConfig, use: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client(config);
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end();
  }
}

/** Runs SQL on a fresh connection. */
export function sql(config: pg.ClientConfig, text: string, values?: unknown[]): Promise<pg.QueryResult> {
  return withClient(config, (client) => client.query(text, values));
}

/**
 * Waits until the statistics collector shows `check` true (stats are flushed asynchronously, when a backend
 * goes idle or exits). Gives up after many polls and returns false, for the assertion to fail on.
 */
export async function waitUntil(check: () => Promise<boolean>, attempts = 200): Promise<boolean> {
  for (let i = 0; i < attempts; i++) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return false;
}

/** Total rows of the shop fixture at scale 1. */
export const SHOP_TOTAL_ROWS = Object.values(SHOP_ROWS).reduce((a, b) => a + b, 0);

/** A `postgres://` URL for a `pg` configuration of a local cluster. */
export function urlOf(config: pg.ClientConfig): string {
  return `postgres://${config.user}:${encodeURIComponent(String(config.password))}@${encodeURIComponent(String(config.host))}:${config.port}/${config.database}?sslmode=disable`;
}
