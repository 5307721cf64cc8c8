import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { Policy } from '../objectives/policy.ts';
import { generateKeyPair } from '../report/signing-key.ts';
import { fileSource } from '../sources/file-source.ts';
import { startShopDatabase } from '../testing/shop-database.ts';
import { runDrill } from './run-drill.ts';

let dir: string;
let signingKey: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'run-drill-test-'));
  signingKey = generateKeyPair(join(dir, 'keys')).privatePath;
  await mkdir(join(dir, 'backups'));
  await using shop = await startShopDatabase();
  await shop.dump(join(dir, 'backups', 'shop.dump'), 'custom');
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
      return [{ name: 'policy at least two recovery points', status: points.length >= 2 ? 'passed' : 'failed', expected: '≥ 2', actual: points.length }];
    },
  };
  const result = await runDrill({ ...quiet(), name: 'policy only', source: fileSource(join(dir, 'backups')), policies: [policy], restore: false, signingKey, controls: ['SOC2-A1.2'] });
  expect(seen).toEqual([1]);
  expect(result.status).toBe('failed');
  expect(result.report.phases.map((p) => p.name)).toEqual(['locate']);
  expect(result.report.environment).toBeNull();
  expect(result.report.controls).toEqual(['SOC2-A1.2']);
  expect(result.report.checks).toEqual([expect.objectContaining({ name: 'policy at least two recovery points', status: 'failed', actual: 1 })]);
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
  expect(result.failedChecks).toContainEqual(expect.objectContaining({ name: 'drill assertions', expected: 499, actual: 500 }));
  // No markers in this dump: that is a failed check too, and the RPO falls back to the dump's creation time.
  expect(result.failedChecks.map((c) => c.name)).toContain('markers present');
  expect(result.report.objectives.rpo.basis).toBe('metadata');
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
        const { rows } = await db.query({ text: 'select count(*)::int as n from orders where total >= $1', values: [0] });
        vexpect(rows[0].n, 'orders with a total').toBe(-1);
      });
      // Outside a check, queries are not recorded into any check.
      await db.query('select 1');
    },
  });
  const byName = Object.fromEntries(result.report.checks.map((c) => [c.name, c]));
  expect(byName['500 customers']).toEqual({ name: '500 customers', status: 'passed', expected: null, actual: null, queries: ['select count(*)::int as n from customers'] });
  const failed = byName['no negative totals']!;
  expect(failed).toMatchObject({ status: 'failed', expected: -1, queries: ['select count(*)::int as n from orders where total >= $1'] });
  expect(failed.detail).toBe(`orders with a total: expected -1, received ${failed.actual}`);
  expect(failed.detail).not.toContain('Object.is');
});
