import { expect, test } from 'vitest';
import { rdsSnapshotSource } from '../../sources/rds/rds-snapshot-source.ts';
import type { SourceContext } from '../../sources/source.ts';
import type { RecoveryPoint } from '../../model/recovery-point.ts';
import type { PolicyContext } from '../policy.ts';
import { encryptionPolicy } from './encryption-policy.ts';

const KEY_ID = '0f1e2d3c-aaaa-bbbb-cccc-111122223333';
const KEY = `arn:aws:kms:us-east-1:123456789012:key/${KEY_ID}`;
const OTHER = 'arn:aws:kms:us-east-1:123456789012:key/99999999-aaaa-bbbb-cccc-111122223333';
const now = new Date('2026-11-23T12:00:00Z');
const point = (id: string, facts: RecoveryPoint['facts']): RecoveryPoint => ({
  source: 'test',
  id,
  createdAt: now,
  createdAtBasis: 'test',
  facts,
});
const sourceContext: SourceContext = { workDir: '/nonexistent', log: () => {} };
const context = (points: RecoveryPoint[]): PolicyContext => ({
  points,
  now,
  source: rdsSnapshotSource({ dbInstanceIdentifier: 'x' }),
  sourceContext,
});

test('every point encrypted: RDS `encrypted` and S3 `serverSideEncryption` facts both count', () => {
  const policy = encryptionPolicy();
  expect(
    policy.evaluate(
      context([
        point('snap', { encrypted: true, kmsKeyId: KEY }),
        point('s3://b/x.dump', { serverSideEncryption: 'aws:kms', kmsKeyId: KEY }),
      ]),
    ),
  ).toEqual([
    { name: 'policy encryption', status: 'passed', expected: 'every recovery point encrypted', actual: '2 of 2' },
  ]);
  expect(
    policy.evaluate(
      context([
        point('snap', { encrypted: true }),
        point('plain', { encrypted: false }),
        point('s3://b/y.dump', { serverSideEncryption: null }),
      ]),
    ),
  ).toEqual([
    {
      name: 'policy encryption',
      status: 'failed',
      expected: 'every recovery point encrypted',
      actual: '1 of 3',
      detail: 'not encrypted: plain, s3://b/y.dump',
    },
  ]);
  expect(policy.evaluate(context([]))).toEqual([
    expect.objectContaining({ status: 'failed', actual: 'no recovery points' }),
  ]);
});

test('with a named KMS key, a point encrypted with another key fails; a key id matches its ARN', () => {
  const points = [point('a', { encrypted: true, kmsKeyId: KEY }), point('b', { encrypted: true, kmsKeyId: OTHER })];
  expect(encryptionPolicy({ kmsKeyId: KEY_ID }).evaluate(context(points))).toEqual([
    {
      name: 'policy encryption',
      status: 'failed',
      expected: `every recovery point encrypted with ${KEY_ID}`,
      actual: '1 of 2',
      detail: 'other key: b',
    },
  ]);
  expect(encryptionPolicy({ kmsKeyId: [KEY, OTHER] }).evaluate(context(points))).toEqual([
    expect.objectContaining({ status: 'passed', actual: '2 of 2' }),
  ]);
});
