import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ConfigError } from '../errors.ts';
import type { Policy } from '../objectives/policy.ts';
import { generateKeyPair } from '../evidence/signing-key.ts';
import { fileSource } from '../sources/file/file-source.ts';
import { startShopDatabase } from '../testing/shop-database.ts';
import { dumpWithManifest } from '../markers/dump-with-manifest.ts';
import { writeMarker } from '../markers/take-marker.ts';
import { readdir } from 'node:fs/promises';
import { runDrill } from './run-drill.ts';

let dir: string;
let signingKey: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'run-drill-test-'));
  signingKey = generateKeyPair(join(dir, 'keys')).privatePath;
  await mkdir(join(dir, 'backups'));
  await using shop = await startShopDatabase();
  await shop.dump(join(dir, 'backups', 'shop.dump'), 'custom');
  // Production data that is already inconsistent (foreign keys are off under session_replication_role =
  // replica), dumped with a manifest taken in the same snapshot: every row matches, one key cannot be restored.
  const c = shop.environment.connectionConfig();
  const url = `postgres://${c.user}:${encodeURIComponent(String(c.password))}@${encodeURIComponent(String(c.host))}:${c.port}/${c.database}`;
  await mkdir(join(dir, 'fk-violation'));
  await shop.query(
    'set session_replication_role = replica; insert into order_items (order_id, line, sku, quantity, unit_price) select 999999, 1, sku, 1, 1 from products limit 1',
  );
  try {
    await dumpWithManifest(url, join(dir, 'fk-violation', 'shop.dump'));
  } finally {
    await shop.query('delete from order_items where order_id = 999999');
  }
  // An in-database marker of two tables only, one of them in `count` mode.
  await mkdir(join(dir, 'partial-marker'));
  await writeMarker(url, {
    tables: [
      { name: 'customers', mode: 'count' },
      { name: 'events', mode: 'append-only' },
    ],
  });
  await shop.dump(join(dir, 'partial-marker', 'shop.dump'), 'custom');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const quiet = () => ({ log: () => {}, reportDir: join(dir, 'reports') });

test('a policy-only drill lists and checks recovery points without restoring anything', async () => {
  const seen: number[] = [];
  const policy: Policy = {
    name: 'count',
    evaluate: ({ points }) => {
      seen.push(points.length);
      return [
        {
          name: 'policy at least two recovery points',
          status: points.length >= 2 ? 'passed' : 'failed',
          expected: '≥ 2',
          actual: points.length,
        },
      ];
    },
  };
  const result = await runDrill({
    ...quiet(),
    name: 'policy only',
    source: fileSource(join(dir, 'backups')),
    policies: [policy],
    restore: false,
    signingKey,
    controls: ['SOC2-A1.2'],
  });
  expect(seen).toEqual([1]);
  expect(result.status).toBe('failed');
  expect(result.report.phases.map((p) => p.name)).toEqual(['locate']);
  expect(result.report.environment).toBeNull();
  expect(result.report.controls).toEqual(['SOC2-A1.2']);
  // No timeLimit, no RTO: the drill still ran under a limit, and its report says which.
  expect(result.report.timeLimit).toEqual({ seconds: 21600, basis: 'default' });
  expect(result.report.checks).toEqual([
    expect.objectContaining({ name: 'policy at least two recovery points', status: 'failed', actual: 1 }),
  ]);
});

test('an assertion outside check() fails the check "drill assertions" with expected and actual', async () => {
  const { expect: vexpect } = await import('vitest');
  const result = await runDrill({
    ...quiet(),
    name: 'bare assertion',
    source: fileSource(join(dir, 'backups')),
    signingKey,
    body: async ({ db }) => {
      const { rows } = await db.query('select count(*)::int as n from customers');
      vexpect(rows[0].n).toBe(499);
    },
  });
  expect(result.status).toBe('failed');
  expect(result.failedChecks).toContainEqual(
    expect.objectContaining({ name: 'drill assertions', expected: 499, actual: 500 }),
  );
  // No markers in this dump: that is a failed check too, and the RPO falls back to the dump's creation time.
  expect(result.failedChecks.map((c) => c.name)).toContain('markers present');
  expect(result.report.objectives.rpo.basis).toBe('metadata');
  // Nothing to compare the tables with: each is listed as not verified.
  expect(result.report.notVerified).toContainEqual(
    expect.objectContaining({ kind: 'table', name: 'public.customers', reason: 'no-marker' }),
  );
});

describe('no vacuous passes', () => {
  test('a policy-only drill without policies is refused before anything starts, saying what to add', async () => {
    const reportDir = join(dir, 'reports-nothing');
    const error = await runDrill({
      log: () => {},
      reportDir,
      name: 'checks nothing',
      source: fileSource(join(dir, 'backups')),
      restore: false,
      policies: [],
      signingKey,
    }).catch((e) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.exitCode).toBe(2);
    expect(error.message).toBe(
      'drill "checks nothing" checks nothing: it restores nothing (restore: false) and has no policies',
    );
    expect(error.hint).toMatch(/add a policy .*freshnessPolicy.*or remove `restore: false`/);
    await expect(readdir(reportDir)).rejects.toThrow(/ENOENT/); // nothing was written
  });

  test('a policy-only drill that passes lists its data as not verified', async () => {
    const policy: Policy = {
      name: 'any',
      evaluate: () => [{ name: 'policy any recovery point', status: 'passed', expected: '≥ 1', actual: 1 }],
    };
    const result = await runDrill({
      ...quiet(),
      name: 'policy only passes',
      source: fileSource(join(dir, 'backups')),
      policies: [policy],
      restore: false,
      signingKey,
    });
    expect(result.status).toBe('passed');
    expect(result.report.notVerified).toEqual([expect.objectContaining({ kind: 'database', reason: 'not-restored' })]);
  });

  test('a marker of few tables is not trusted, and the report lists the rest: tables without a marker, tables compared by count only, objects', async () => {
    const result = await runDrill({
      ...quiet(),
      name: 'partial marker',
      source: fileSource(join(dir, 'partial-marker')),
      signingKey,
    });
    // A marker of 2 of 7 tables, without a manifest, could be a forged one that hides what is missing.
    expect(result.status).toBe('failed');
    expect(result.report.checks.filter((c) => c.status === 'failed').map((c) => c.name)).toEqual([
      expect.stringMatching(/^marker #\d+ trusted$/),
    ]);
    const notVerified = result.report.notVerified!;
    expect(notVerified.filter((n) => n.kind === 'table').map((n) => `${n.name} ${n.reason}`)).toEqual([
      'public.customers count-only',
      'public.documents no-marker',
      'public.order_items no-marker',
      'public.orders no-marker',
      'public.page_views no-marker',
      'public.products no-marker',
    ]);
    expect(notVerified).toContainEqual(expect.objectContaining({ kind: 'objects', reason: 'not-fingerprinted' }));
    expect(notVerified).toContainEqual(
      expect.objectContaining({ kind: 'cluster', name: 'roles, tablespaces', reason: 'cluster-wide' }),
    );
  });
});

test('a restore that completed with errors is still verified: the error names the foreign key with its DETAIL, the other checks run, the drill failed (not error)', async () => {
  const result = await runDrill({
    ...quiet(),
    name: 'fk violation',
    source: fileSource(join(dir, 'fk-violation')),
    jobs: 2,
    signingKey,
  });
  expect(result.status).toBe('failed');
  expect(result.report.error).toBeUndefined();
  const restore = result.report.checks.find((c) => c.name === 'restore completed')!;
  expect(restore.status).toBe('failed');
  expect(restore.detail).toBe(
    'pg_restore completed with 1 error (the rest was restored and is verified below):\n' +
      'FK CONSTRAINT order_items_order_id_fkey on public.order_items: foreign key violation — ' +
      'ERROR: insert or update on table "order_items" violates foreign key constraint "order_items_order_id_fkey" DETAIL: Key (order_id)=(999999) is not present in table "orders".',
  );
  // Every row came back and is compared; the missing key shows as a schema difference of its table.
  const status = (name: string) => result.report.checks.find((c) => c.name === name)?.status;
  expect(status('checksum public.order_items (manifest)')).toBe('passed');
  expect(status('checksum public.orders (manifest)')).toBe('passed');
  expect(status('schema public.orders (manifest)')).toBe('passed');
  expect(status('schema public.order_items (manifest)')).toBe('failed');
  expect(result.report.checks.filter((c) => c.status === 'skipped')).toEqual([]);
  expect(result.failedChecks.map((c) => c.name).sort()).toEqual([
    'restore completed',
    'schema public.order_items (manifest)',
  ]);
});

test('a custom check records the SQL it ran, and a failed one its expected and received values in plain words', async () => {
  const { expect: vexpect } = await import('vitest');
  const result = await runDrill({
    ...quiet(),
    name: 'custom checks',
    source: fileSource(join(dir, 'backups')),
    signingKey,
    body: async ({ db, check }) => {
      await check('500 customers', async () => {
        const { rows } = await db.query('select count(*)::int as n from customers');
        vexpect(rows[0].n).toBe(500);
      });
      await check('no negative totals', async () => {
        const { rows } = await db.query({
          text: 'select count(*)::int as n from orders where total >= $1',
          values: [0],
        });
        vexpect(rows[0].n, 'orders with a total').toBe(-1);
      });
      // Outside a check, queries are not recorded into any check.
      await db.query('select 1');
    },
  });
  const byName = Object.fromEntries(result.report.checks.map((c) => [c.name, c]));
  expect(byName['500 customers']).toEqual({
    name: '500 customers',
    status: 'passed',
    expected: null,
    actual: null,
    queries: ['select count(*)::int as n from customers'],
  });
  const failed = byName['no negative totals']!;
  expect(failed).toMatchObject({
    status: 'failed',
    expected: -1,
    queries: ['select count(*)::int as n from orders where total >= $1'],
  });
  expect(failed.detail).toBe(`orders with a total: expected -1, received ${failed.actual}`);
  expect(failed.detail).not.toContain('Object.is');
});
