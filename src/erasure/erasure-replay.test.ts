import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ConfigError } from '../errors.ts';
import { startShopDatabase, type ShopDatabase } from '../testing/shop-database.ts';
import { readErasureLedger } from './erasure-ledger.ts';
import { erasureReplay, runErasureReplay } from './erasure-replay.ts';

let shop: ShopDatabase;
let dir: string;
let prodUrl: string;
/** Production: holds the erasure ledger; also the admin connection that makes each test's restored copy. */
let prod: pg.Client;
/** A customer without orders and one with orders (its erasure must also remove them). */
let lonely: string;
let buyer: string;
let copies = 0;
const recoveryPointAt = new Date('2026-11-30T00:00:00Z');
const daysBefore = (n: number) => new Date(recoveryPointAt.getTime() - n * 86400_000).toISOString();

const SUBJECTS = 'select 1 from customers where email = $1';
const eraseCompletely = async (client: pg.ClientBase, request: { subjectId: string }) => {
  await client.query(
    'delete from order_items where order_id in (select o.id from orders o join customers c on c.id = o.customer_id where c.email = $1)',
    [request.subjectId],
  );
  await client.query('delete from orders where customer_id in (select id from customers where email = $1)', [
    request.subjectId,
  ]);
  await client.query(
    'update page_views set customer_id = null where customer_id in (select id from customers where email = $1)',
    [request.subjectId],
  );
  await client.query('delete from customers where email = $1', [request.subjectId]);
};

async function ledgerFile(rows: [string, string][]): Promise<string> {
  const path = join(dir, `ledger-${Math.random().toString(36).slice(2)}.csv`);
  await writeFile(path, `subject_id,erased_at\n${rows.map(([s, t]) => `"${s}",${t}`).join('\n')}\n`);
  return path;
}

/** A fresh "restored copy" of the shop database, so every test starts from the same data. */
async function restoredCopy(): Promise<pg.Client & AsyncDisposable> {
  const name = `restored_copy_${++copies}`;
  await prod.query(`create database ${name} template restored`);
  const client = new pg.Client({ ...shop.environment.connectionConfig(), database: name });
  await client.connect();
  return Object.assign(client, { [Symbol.asyncDispose]: () => client.end() });
}

beforeAll(async () => {
  shop = await startShopDatabase();
  dir = await mkdtemp(join(tmpdir(), 'erasure-test-'));
  const c = shop.environment.connectionConfig();
  const seeded = new pg.Client(c);
  await seeded.connect();
  try {
    await seeded.query('create database prod_ledger');
    lonely = (
      await seeded.query<{ email: string }>(
        "insert into customers (email, name, country, created_at) values ('lonely.h16@example.invalid', 'Lonely', 'DE', now()) returning email",
      )
    ).rows[0]!.email;
    buyer = (
      await seeded.query<{ email: string }>(
        'select email from customers c where exists (select 1 from orders o where o.customer_id = c.id) order by id limit 1',
      )
    ).rows[0]!.email;
  } finally {
    await seeded.end();
  }
  prodUrl = `postgres://${c.user}:${encodeURIComponent(String(c.password))}@${encodeURIComponent(String(c.host))}:${c.port}/prod_ledger`;
  prod = new pg.Client({ ...c, database: 'prod_ledger' });
  await prod.connect();
  await prod.query('create table erasures (subject_id text not null, erased_at timestamptz not null)');
}, 120_000);
afterAll(async () => {
  await prod?.end();
  await shop?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('erasureReplay', () => {
  test('an erased subject that came back with the restore is caught, re-erased, and then none remains; unknown subjects are counted', async () => {
    const ledger = {
      file: await ledgerFile([
        [buyer, daysBefore(3)],
        ['never-a-customer@example.invalid', daysBefore(1)],
      ]),
    };
    await using db = await restoredCopy();
    const checks = await runErasureReplay(erasureReplay({ ledger, apply: eraseCompletely, subjects: SUBJECTS }), db, {
      recoveryPointAt,
    });
    expect(checks.map((c) => [c.name, c.status, c.actual])).toEqual([
      ['erasure reached the backups (30d)', 'passed', '0 such subjects'],
      ['erasure replay', 'passed', '0 of 2 remain'],
    ]);
    expect(checks[0]!.detail).toMatch(
      /^2 subjects in the ledger \(file .*\); 1 in the restored copy before replay, 1 unknown to the backup; ids salted per run \(salt not recorded\)$/,
    );
    expect(checks[1]!.detail).toBe(
      '2 subjects in the ledger, 1 brought back by the restore, 1 re-erased; ids salted per run (salt not recorded)',
    );
    expect(JSON.stringify(checks)).not.toContain(buyer);
    expect(JSON.stringify(checks)).not.toContain('never-a-customer');
    expect((await db.query(SUBJECTS, [buyer])).rowCount).toBe(0);
  });

  test('a subject erased longer ago than the backups may keep it fails "erasure reached the backups", named by hash only', async () => {
    const ledger = { file: await ledgerFile([[lonely, daysBefore(45)]]) };
    await using db = await restoredCopy();
    const checks = await runErasureReplay(
      erasureReplay({ ledger, apply: 'delete from customers where email = $1', subjects: SUBJECTS, salt: 'fixed' }),
      db,
      { recoveryPointAt },
    );
    expect(checks.map((c) => c.status)).toEqual(['failed', 'passed']);
    expect(checks[0]!.detail).toMatch(/overdue: hmac:[0-9a-f]{16}; ids salted with the given salt$/);
    expect(JSON.stringify(checks)).not.toContain(lonely);
  });

  test('an apply that fails half-way is rolled back and fails the check, without the subject ids in its message', async () => {
    // The SQL apply deletes the customer only: the one with orders breaks the foreign key after the first succeeded.
    const ledger = {
      file: await ledgerFile([
        [lonely, daysBefore(2)],
        [buyer, daysBefore(1)],
      ]),
    };
    await using db = await restoredCopy();
    const checks = await runErasureReplay(
      erasureReplay({ ledger, apply: 'delete from customers where email = $1', subjects: SUBJECTS }),
      db,
      { recoveryPointAt },
    );
    expect(checks[1]).toMatchObject({ name: 'erasure replay', status: 'failed', actual: '2 of 2 remain' });
    expect(checks[1]!.detail).toMatch(
      /apply failed half-way and was rolled back: update or delete on table "customers" violates foreign key constraint/,
    );
    expect(checks[1]!.detail).toMatch(/still present: hmac:[0-9a-f]{16}, hmac:[0-9a-f]{16}/);
    expect((await db.query(SUBJECTS, [lonely])).rowCount).toBe(1);
    expect(JSON.stringify(checks)).not.toContain(lonely);
    expect(JSON.stringify(checks)).not.toContain(buyer);
  });

  test('the subjects queries run a bounded number at a time, each on its own read-only connection', async () => {
    const others = Array.from(
      { length: 7 },
      (_, i) => [`absent-${i}@example.invalid`, daysBefore(1)] as [string, string],
    );
    const ledger = { file: await ledgerFile([[lonely, daysBefore(2)], ...others]) };
    await using db = await restoredCopy();
    let inFlight = 0;
    let most = 0;
    const pids = new Set<number>();
    const subjects = async (client: pg.ClientBase, id: string) => {
      most = Math.max(most, ++inFlight);
      try {
        const row = (
          await client.query<{ pid: number; ro: string; n: number }>(
            "select pg_backend_pid() as pid, current_setting('transaction_read_only') as ro, count(*)::int as n from customers, pg_sleep(0.05) where email = $1",
            [id],
          )
        ).rows[0]!;
        pids.add(row.pid);
        expect(row.ro).toBe('on');
        return row.n > 0;
      } finally {
        inFlight--;
      }
    };
    const checks = await runErasureReplay(
      erasureReplay({ ledger, apply: 'delete from customers where email = $1', subjects, concurrency: 3 }),
      db,
      { recoveryPointAt, connection: { ...shop.environment.connectionConfig(), database: db.database } },
    );
    expect(checks.map((c) => [c.status, c.actual])).toEqual([
      ['passed', '0 such subjects'],
      ['passed', '0 of 8 remain'],
    ]);
    expect(most).toBe(3);
    // Three sessions for the eight subjects before the replay, then one for the one that was re-erased.
    expect(pids.size).toBe(4);
    expect(pids.has((await db.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid)).toBe(false);
  });

  test('a concurrency that is not a whole number of at least 1 is refused', () => {
    expect(() => erasureReplay({ ledger: { file: 'x.csv' }, apply: 'x', subjects: 'x', concurrency: 0 })).toThrow(
      /^erasureReplay concurrency must be a whole number of at least 1, not 0$/,
    );
  });
});

describe('readErasureLedger', () => {
  test('reads the production ledger through a read-only connection', async () => {
    await prod.query("insert into erasures values ('a@example.invalid', '2026-11-20T10:00:00Z')");
    const requests = await readErasureLedger(
      { query: 'select subject_id, erased_at from erasures', urlEnv: 'H16_LEDGER_URL' },
      { H16_LEDGER_URL: prodUrl },
    );
    expect(requests).toEqual([{ subjectId: 'a@example.invalid', erasedAt: new Date('2026-11-20T10:00:00Z') }]);
  });

  test.each([
    [
      "insert into erasures values ('x', now()) returning subject_id, erased_at",
      /^the erasure ledger query tried to write to production and was refused \(read-only connection\)$/,
    ],
    [
      'select subject_id, erased_at from erasures; delete from erasures',
      /^the erasure ledger query holds more than one statement$/,
    ],
    [
      'commit; set default_transaction_read_only = off; delete from erasures',
      /^the erasure ledger query holds more than one statement$/,
    ],
  ])('a ledger query that tries to write is refused: %s', async (query, message) => {
    const before = (await prod.query<{ n: number }>('select count(*)::int as n from erasures')).rows[0]!.n;
    const error = await readErasureLedger({ query, urlEnv: 'H16_LEDGER_URL' }, { H16_LEDGER_URL: prodUrl }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(message);
    expect((await prod.query<{ n: number }>('select count(*)::int as n from erasures')).rows[0]!.n).toBe(before);
  });

  test('a malformed ledger file fails naming the line, never the subject', async () => {
    const path = join(dir, 'bad.csv');
    await writeFile(path, 'subject_id,erased_at\nsecret@example.invalid,yesterday\n');
    const error = await readErasureLedger({ file: path }).catch((e: unknown) => e);
    expect((error as Error).message).toBe(`erasure ledger line 2 of ${path}: erased_at is not a time`);
  });
});
