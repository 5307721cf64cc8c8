import { expect, test } from 'vitest';
import { newRunId } from '../labels.ts';
import { drillTags, RDS_TAG, rdsIdentifier, readRdsLabel } from './rds-tags.ts';

const RDS_IDENTIFIER = /^[a-z](?!.*--)[a-z0-9-]{0,62}(?<!-)$/;

test('identifiers follow RDS rules: a letter first, letters/digits/hyphens, ≤ 63, no double or trailing hyphen', () => {
  expect(rdsIdentifier('rd20261123t175226z-3f9a1c')).toBe('restore-drill-rd20261123t175226z-3f9a1c');
  expect(rdsIdentifier(newRunId())).toMatch(RDS_IDENTIFIER);
  expect(rdsIdentifier('Run_ID--with..odd chars-', 'writer')).toBe('restore-drill-run-id-with-odd-chars-writer');
  const long = rdsIdentifier('x'.repeat(48) + '-' + 'y'.repeat(20));
  expect(long.length).toBeLessThanOrEqual(63);
  expect(long).toMatch(RDS_IDENTIFIER);
});

test("tags carry the label; the author's extra tags cannot override restore-drill's own", () => {
  const tags = drillTags(
    {
      runId: 'rd1',
      drillName: "shop's nightly (eu)",
      createdAt: '2026-11-23T18:00:00.000Z',
      expiresAt: '2026-11-24T02:00:00.000Z',
    },
    { team: 'dba', [RDS_TAG.owner]: 'me' },
  );
  expect(tags).toEqual([
    { Key: 'restore-drill:owner', Value: 'restore-drill' },
    { Key: 'restore-drill:run-id', Value: 'rd1' },
    { Key: 'restore-drill:drill', Value: 'shop_s nightly _eu_' },
    { Key: 'restore-drill:created-at', Value: '2026-11-23T18:00:00.000Z' },
    { Key: 'restore-drill:expires-at', Value: '2026-11-24T02:00:00.000Z' },
    { Key: 'team', Value: 'dba' },
  ]);
  expect(readRdsLabel(tags)).toEqual({
    runId: 'rd1',
    drillName: 'shop_s nightly _eu_',
    createdAt: '2026-11-23T18:00:00.000Z',
    expiresAt: '2026-11-24T02:00:00.000Z',
  });
  expect(
    readRdsLabel([
      { Key: RDS_TAG.owner, Value: 'someone-else' },
      { Key: RDS_TAG.runId, Value: 'rd1' },
    ]),
  ).toBeNull();
  expect(readRdsLabel([{ Key: RDS_TAG.owner, Value: 'restore-drill' }])).toBeNull();
  expect(readRdsLabel(undefined)).toBeNull();
});
