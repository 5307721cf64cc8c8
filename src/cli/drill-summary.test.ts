import { expect, test } from 'vitest';
import { sampleDrillMeta } from '../views/ci-summary.fixture.ts';
import { formatDrillSummary } from './drill-summary.ts';

test('a multi-line check detail stays indented under its drill, and what was not verified follows', () => {
  const meta = sampleDrillMeta({
    status: 'failed',
    failedChecks: [
      'restore completed: expected true, got false (pg_restore completed with 1 error (…):\nFK CONSTRAINT a_fkey on public.a: foreign key violation — ERROR: …)',
    ],
    notVerified: ['tables without a marker (1): public.audit_log', 'cluster-wide, not compared: roles, tablespaces'],
  });
  const lines = formatDrillSummary('shop', meta).split('\n');
  expect(lines.slice(-3)).toEqual([
    '    failed: restore completed: expected true, got false (pg_restore completed with 1 error (…):',
    '      FK CONSTRAINT a_fkey on public.a: foreign key violation — ERROR: …)',
    '    not verified: tables without a marker (1): public.audit_log; cluster-wide, not compared: roles, tablespaces',
  ]);
});

test('a pass under a verification budget that checksummed part of the rows says so on its status line', () => {
  const meta = sampleDrillMeta({
    status: 'passed',
    partlyVerified: 'partly verified: 24.9 % of rows checksummed (verification budget 30m 00s)',
  });
  expect(formatDrillSummary('shop', meta).split('\n')[0]).toMatch(
    /^✓ shop — PASSED \(partly verified: 24\.9 % of rows checksummed \(verification budget 30m 00s\)\) {2}restore/,
  );
});
