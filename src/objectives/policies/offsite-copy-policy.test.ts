import { expect, test } from 'vitest';
import { ConfigError } from '../../errors.ts';
import type { Source, SourceContext } from '../../sources/source.ts';
import type { RecoveryPoint } from '../../model/recovery-point.ts';
import type { PolicyContext } from '../policy.ts';
import { offsiteCopyPolicy } from './offsite-copy-policy.ts';

const now = new Date('2026-11-23T12:00:00Z');
const at = (hoursAgo: number) => new Date(now.getTime() - hoursAgo * 3600e3);
const sourceContext: SourceContext = { workDir: '/nonexistent', log: () => {} };
const arn = (region: string, id: string) => `arn:aws:rds:${region}:123456789012:snapshot:${id}`;
const original = (id: string, hoursAgo: number): RecoveryPoint => ({
  source: 'rds-snapshot',
  id,
  createdAt: at(hoursAgo),
  createdAtBasis: 'rds-snapshot-create-time',
  facts: {
    arn: arn('us-east-1', id),
    region: 'us-east-1',
    account: '123456789012',
    dbInstanceIdentifier: 'shop-prod',
    snapshotCreateTime: at(hoursAgo).toISOString(),
  },
});
/** A copy in eu-west-1 made `delayHours` after its original; `named` says whether it names its source (as AWS does). */
const copyOf = (point: RecoveryPoint, delayHours: number, named = true, region = 'eu-west-1'): RecoveryPoint => ({
  ...point,
  id: `${point.id}-copy`,
  facts: {
    ...point.facts,
    arn: arn(region, `${point.id}-copy`),
    region,
    snapshotCreateTime: new Date(point.createdAt.getTime() + delayHours * 3600e3).toISOString(),
    sourceSnapshot: named ? String(point.facts.arn) : null,
  },
});
const listing = (points: RecoveryPoint[]): Source => ({
  kind: 'test',
  describe: () => 'test copies',
  list: async () => points,
  fetch: async () => ({ kind: 'test' }),
});
const context = (points: RecoveryPoint[], source: Source = listing([]), when = now): PolicyContext => ({
  points,
  now: when,
  source,
  sourceContext,
});

test('each of the last K points needs a copy in another region made within H hours', async () => {
  const [a, b, c] = [original('snap-a', 30), original('snap-b', 54), original('snap-c', 78)];
  const copies = listing([copyOf(a, 2), copyOf(b, 30, false), copyOf(c, 1, true, 'us-east-1')]);
  const checks = await offsiteCopyPolicy({ copies, last: 3, within: '24h' }).evaluate(context([a, b, c]));
  expect(checks).toEqual([
    {
      name: 'policy offsite copy snap-a',
      status: 'passed',
      expected: 'a copy in another region or account within 1d 00h',
      actual: 'eu-west-1 / 123456789012 after 2h 00m',
      detail: 'copy: snap-a-copy',
    },
    {
      name: 'policy offsite copy snap-b',
      status: 'failed',
      expected: 'a copy in another region or account within 1d 00h',
      actual: 'eu-west-1 / 123456789012 after 1d 06h',
      detail: 'copy: snap-b-copy',
    },
    // A "copy" in the same region and account is not offsite.
    {
      name: 'policy offsite copy snap-c',
      status: 'failed',
      expected: 'a copy in another region or account within 1d 00h',
      actual: 'no copy',
      detail: 'searched test copies',
    },
  ]);
});

test('a copy in another account of the same region counts; points younger than H without a copy are not due yet', async () => {
  const fresh = original('snap-new', 2);
  const old = original('snap-old', 26);
  const otherAccount = {
    ...copyOf(old, 1, true, 'us-east-1'),
    facts: { ...copyOf(old, 1, true, 'us-east-1').facts, account: '999999999999' },
  };
  const checks = await offsiteCopyPolicy({ copies: [listing([otherAccount])], within: '24h' }).evaluate(
    context([fresh, old]),
  );
  expect(checks).toEqual([
    expect.objectContaining({
      name: 'policy offsite copy snap-old',
      status: 'passed',
      actual: 'us-east-1 / 999999999999 after 1h 00m',
    }),
  ]);
  expect(await offsiteCopyPolicy({ copies: listing([]), within: '24h' }).evaluate(context([fresh]))).toEqual([
    expect.objectContaining({ status: 'skipped' }),
  ]);
});

test('options are validated; regions need a source that can list another region', async () => {
  expect(() => offsiteCopyPolicy({ within: '24h' })).toThrow(ConfigError);
  expect(() => offsiteCopyPolicy({ regions: ['eu-west-1'], within: '24h', last: 0 })).toThrow(ConfigError);
  await expect(
    offsiteCopyPolicy({ regions: ['eu-west-1'], within: '24h' }).evaluate(context([original('a', 30)], listing([]))),
  ).rejects.toThrow(/regions need a source that can list another region/);
});
