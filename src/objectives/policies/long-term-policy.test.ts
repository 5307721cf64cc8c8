import { expect, test } from 'vitest';
import { ConfigError } from '../../errors.ts';
import type { RecoveryPoint } from '../../model/recovery-point.ts';
import type { Source, SourceContext } from '../../sources/source.ts';
import type { PolicyContext } from '../policy.ts';
import { longTermPolicy } from './long-term-policy.ts';

const now = new Date('2026-12-02T08:00:00Z');
const DAY = 86400;
const sourceContext: SourceContext = { workDir: '/nonexistent', log: () => {} };
/** A long-term backup taken `secondsAgo` before the drill. */
const taken = (id: string, secondsAgo: number): RecoveryPoint => ({
  source: 'test',
  id,
  createdAt: new Date(now.getTime() - secondsAgo * 1000),
  createdAtBasis: 'test',
  facts: { storageClass: 'DEEP_ARCHIVE' },
});
const listing = (points: RecoveryPoint[]): Source => ({
  kind: 'test',
  describe: () => 's3-dump s3://acme-archive/shop/',
  list: () => Promise.resolve(points),
  fetch: () => Promise.resolve({ kind: 'test' }),
});
const context = (points: RecoveryPoint[]): PolicyContext => ({ points, now, source: listing(points), sourceContext });
/** Four backups 120 days apart, the newest 10 days old, with one gap changed by `extraSeconds`. */
const fourMonthly = (extraSeconds = 0) => [
  taken('lt-4', 10 * DAY),
  taken('lt-3', 130 * DAY),
  taken('lt-2', 250 * DAY + extraSeconds),
  taken('lt-1', 370 * DAY + extraSeconds),
];

test('four long-term backups exactly 120 days apart pass; the oldest kept is named', async () => {
  const [check] = await longTermPolicy({ every: '120d', keepAtLeast: 4 }).evaluate(context(fourMonthly()));
  expect(check).toEqual({
    name: 'policy long-term',
    status: 'passed',
    expected: '4 long-term backup(s), newest ≤ 120d 00h old, none more than 120d 00h apart',
    actual: '4 long-term backup(s), newest 10d 00h old',
    detail: `oldest kept: lt-1 (${taken('lt-1', 370 * DAY).createdAt.toISOString()})`,
  });
});

test('a gap of 120 days and one second fails, naming the two backups', async () => {
  const [check] = await longTermPolicy({ every: '120d', keepAtLeast: 4 }).evaluate(context(fourMonthly(1)));
  expect(check).toMatchObject({
    status: 'failed',
    actual: `a gap of ${120 * DAY + 1} s (120d 00h) between long-term backups`,
    detail: expect.stringMatching(/^lt-2 \(.+\) → lt-3 \(.+\)$/) as unknown,
  });
});

test('too few kept, or the newest too old, fails; the backups can come from another source than the drill restores', async () => {
  expect((await longTermPolicy({ every: '120d', keepAtLeast: 5 }).evaluate(context(fourMonthly())))[0]).toMatchObject({
    status: 'failed',
    actual: '4 long-term backup(s)',
  });
  expect((await longTermPolicy({ every: '120d' }).evaluate(context([taken('old', 120 * DAY + 1)])))[0]).toMatchObject({
    status: 'failed',
    actual: 'newest is 120d 00h old',
  });
  const archive = listing(fourMonthly());
  expect(
    (await longTermPolicy({ every: '120d', keepAtLeast: 4, from: archive }).evaluate(context([])))[0],
  ).toMatchObject({ status: 'passed' });
  expect(
    (await longTermPolicy({ every: '120d', from: listing([]) }).evaluate(context(fourMonthly())))[0],
  ).toMatchObject({ status: 'failed', actual: 'no long-term backups' });
});

test('bad options are ConfigErrors', () => {
  expect(() => longTermPolicy({ every: '0s' })).toThrow(ConfigError);
  expect(() => longTermPolicy({ every: '120d', keepAtLeast: 0 })).toThrow(
    /keepAtLeast must be a whole number ≥ 1, not 0/,
  );
  expect(() => longTermPolicy({ every: 'quarterly' })).toThrow(/bad longTermPolicy every "quarterly"/);
});
