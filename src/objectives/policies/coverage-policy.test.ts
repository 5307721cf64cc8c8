import { expect, test } from 'vitest';
import { ConfigError } from '../../errors.ts';

import type { RecoveryPoint } from '../../model/recovery-point.ts';
import { pointAgo, policyContext } from './policy-context.testkit.ts';
import { coveragePolicy } from './coverage-policy.ts';

const point = (hoursAgo: number): RecoveryPoint => pointAgo(`p${hoursAgo}h`, hoursAgo * 3600);
const context = policyContext;
/** "RPO 3 hours for at least 7 days and 24 hours beyond 7 days", up to 30 days. */
const promise = coveragePolicy([
  { maxGap: '24h', within: '30d' },
  { maxGap: '3h', within: '7d' },
]);
/** Every 3 h for the last 7 days, then daily back to 31 days. */
const healthy = (): RecoveryPoint[] => [
  ...Array.from({ length: 7 * 8 + 1 }, (_, i) => point(i * 3)),
  ...Array.from({ length: 24 }, (_, i) => point(7 * 24 + (i + 1) * 24)),
];

test('a history that keeps the tiered promise passes both tiers, tiers sorted by age', () => {
  const checks = promise.evaluate(context(healthy())) as ReturnType<typeof promise.evaluate> & unknown[];
  expect(checks).toEqual([
    {
      name: 'policy coverage ≤ 3h 00m for ages 0–7d 00h',
      status: 'passed',
      expected: 'gaps ≤ 3h 00m',
      actual: 'largest gap 3h 00m',
      detail: expect.any(String),
    },
    {
      name: 'policy coverage ≤ 1d 00h for ages 7d 00h–30d 00h',
      status: 'passed',
      expected: 'gaps ≤ 1d 00h',
      actual: 'largest gap 1d 00h',
      detail: expect.any(String),
    },
  ]);
});

test('a missing point inside the 7-day tier fails only that tier and names the two points around the gap', () => {
  const points = healthy().filter((p) => p.id !== 'p30h' && p.id !== 'p33h');
  const [recent, older] = promise.evaluate(context(points)) as { status: string; actual: unknown; detail?: string }[];
  expect(recent).toMatchObject({ status: 'failed', actual: 'largest gap 9h 00m', detail: 'between p36h and p27h' });
  expect(older).toMatchObject({ status: 'passed' });
});

test('a gap straddling the 7-day boundary counts in both tiers', () => {
  const points = healthy().filter((p) => !['p165h', 'p168h', 'p171h', 'p192h'].includes(p.id));
  const [recent, older] = promise.evaluate(context(points)) as { status: string; actual: unknown; detail?: string }[];
  expect(recent).toMatchObject({ status: 'failed', actual: 'largest gap 2d 06h', detail: 'between p216h and p162h' });
  expect(older).toMatchObject({ status: 'failed', actual: 'largest gap 2d 06h', detail: 'between p216h and p162h' });
});

test('history beginning inside a window leaves its start uncovered; the newest tier measures up to now', () => {
  const young = [point(1), point(4)];
  const [recent, older] = promise.evaluate(context(young)) as { status: string; actual: unknown; detail?: string }[];
  expect(recent).toMatchObject({
    status: 'failed',
    actual: 'largest gap 6d 20h',
    detail: 'between the window start (history begins later) and p4h',
  });
  // From 30 days back (no point before it) to the first point after the tier: all uncovered.
  expect(older).toMatchObject({
    status: 'failed',
    actual: 'largest gap 29d 20h',
    detail: 'between the window start (history begins later) and p4h',
  });
  const stale = [point(10), point(12)];
  expect(coveragePolicy([{ maxGap: '3h', within: '1d' }]).evaluate(context(stale))).toEqual([
    expect.objectContaining({ status: 'failed', detail: 'between the window start (history begins later) and p12h' }),
  ]);
  const staleWithHistory = [point(10), point(12), point(20), point(24)];
  expect(coveragePolicy([{ maxGap: '9h', within: '1d' }]).evaluate(context(staleWithHistory))).toEqual([
    expect.objectContaining({ status: 'failed', actual: 'largest gap 10h 00m', detail: 'between p10h and now' }),
  ]);
});

test('tiers are validated when the drill is defined', () => {
  expect(() => coveragePolicy([])).toThrow(ConfigError);
  expect(() => coveragePolicy([{ maxGap: '0s', within: '7d' }])).toThrow(ConfigError);
  expect(() =>
    coveragePolicy([
      { maxGap: '3h', within: '7d' },
      { maxGap: '4h', within: '7d' },
    ]),
  ).toThrow(ConfigError);
  expect(() => coveragePolicy([{ maxGap: 'often', within: '7d' }])).toThrow(ConfigError);
});
