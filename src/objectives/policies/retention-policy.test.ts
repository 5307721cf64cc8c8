import { expect, test } from 'vitest';
import { ConfigError } from '../../errors.ts';
import type { Source } from '../../sources/source.ts';
import type { RecoveryPoint } from '../../model/recovery-point.ts';
import { pointAgo, policyContext } from './policy-context.testkit.ts';
import { retentionPolicy } from './retention-policy.ts';

const point = (days: number): RecoveryPoint => pointAgo(`p${days}d`, days * 86400);
const context = policyContext;
const daily = (days: number) => Array.from({ length: days + 1 }, (_, i) => point(i));

test('minimum kept: the oldest point is at least N days old', () => {
  const policy = retentionPolicy({ oldestAtLeast: '30d' });
  expect(policy.evaluate(context(daily(30)))).toEqual([
    {
      name: 'policy retention minimum',
      status: 'passed',
      expected: 'oldest ≥ 30d 00h old',
      actual: 'oldest 30d 00h old',
      detail: 'oldest: p30d (2026-10-24T12:00:00.000Z)',
    },
  ]);
  expect(policy.evaluate(context(daily(12)))).toEqual([
    expect.objectContaining({ status: 'failed', actual: 'oldest 12d 00h old' }),
  ]);
  expect(policy.evaluate(context([]))).toEqual([
    expect.objectContaining({ status: 'failed', actual: 'no recovery points' }),
  ]);
});

test('maximum kept (GDPR): none older than M days, naming the ones that are', () => {
  const policy = retentionPolicy({ noneOlderThan: '29d' });
  expect(policy.evaluate(context(daily(29)))).toEqual([
    {
      name: 'policy retention maximum',
      status: 'passed',
      expected: 'none older than 29d 00h',
      actual: 'oldest 29d 00h old',
    },
  ]);
  expect(policy.evaluate(context(daily(33)))).toEqual([
    {
      name: 'policy retention maximum',
      status: 'failed',
      expected: 'none older than 29d 00h',
      actual: '4 older',
      detail: 'too old: p33d, p32d, p31d and 1 more',
    },
  ]);
});

test('both bounds give two checks; neither is a ConfigError', () => {
  expect(
    (retentionPolicy({ oldestAtLeast: '7d', noneOlderThan: '35d' }).evaluate(context(daily(10))) as unknown[]).length,
  ).toBe(2);
  expect(() => retentionPolicy({})).toThrow(ConfigError);
});

test('by class: customer data at most 29 days and metadata at least 90, each class from its own source', async () => {
  const listing = (name: string, points: RecoveryPoint[]): Source => ({
    kind: 'test',
    describe: () => `${name} dumps`,
    list: () => Promise.resolve(points),
    fetch: () => Promise.reject(new Error('not fetched')),
  });
  const policy = retentionPolicy({
    pii: { source: listing('pii', daily(31)), noneOlderThan: '29d' },
    metadata: { source: listing('metadata', daily(120)), oldestAtLeast: '90d' },
    own: { noneOlderThan: '29d' },
  });
  const checks = await policy.evaluate(context(daily(3)));
  expect(checks.map((c) => [c.name, c.status, c.actual])).toEqual([
    ['policy retention maximum (pii: pii dumps)', 'failed', '2 older'],
    ['policy retention minimum (metadata: metadata dumps)', 'passed', 'oldest 120d 00h old'],
    ['policy retention maximum (own)', 'passed', 'oldest 3d 00h old'],
  ]);
  expect(() => retentionPolicy({ pii: {} })).toThrow(
    /retentionPolicy class pii needs oldestAtLeast, noneOlderThan or both/,
  );
});
