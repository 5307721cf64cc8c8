import { expect, test } from 'vitest';
import { ConfigError } from '../../errors.ts';

import type { RecoveryPoint } from '../../model/recovery-point.ts';
import { pointAgo, policyContext } from './policy-context.testkit.ts';
import { freshnessPolicy } from './freshness-policy.ts';

const point = (id: string, hoursAgo: number): RecoveryPoint => pointAgo(id, hoursAgo * 3600);
const context = policyContext;

test('passes when the newest point is younger than maxAge, fails when older, and says how old', () => {
  const policy = freshnessPolicy({ maxAge: '3h' });
  expect(policy.evaluate(context([point('old', 30), point('new', 2)]))).toEqual([
    {
      name: 'policy freshness',
      status: 'passed',
      expected: 'newest ≤ 3h 00m old',
      actual: '2h 00m old',
      detail: 'newest: new (2026-11-23T10:00:00.000Z)',
    },
  ]);
  expect(policy.evaluate(context([point('a', 3.5), point('b', 27)]))).toEqual([
    expect.objectContaining({ status: 'failed', actual: '3h 30m old' }),
  ]);
  expect(policy.evaluate(context([]))).toEqual([
    { name: 'policy freshness', status: 'failed', expected: 'newest ≤ 3h 00m old', actual: 'no recovery points' },
  ]);
});

test('a bad duration is a ConfigError when the drill is defined', () => {
  expect(() => freshnessPolicy({ maxAge: 'soon' })).toThrow(ConfigError);
});
