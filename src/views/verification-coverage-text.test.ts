import { expect, test } from 'vitest';
import type { BudgetCoverage, VerificationCoverage } from '../model/report.ts';
import { sampleReport } from '../model/sample-report.fixture.ts';
import { renderHtmlReport } from './html/html-report.ts';
import { renderMarkdown } from './markdown.ts';
import { describeVerification, partlyVerified } from './verification-coverage-text.ts';

const budgeted: BudgetCoverage = {
  label: 'manifest',
  mode: 'budgeted',
  budgetSeconds: 1800,
  rowsPerSecond: 5000,
  covered: ['public.orders#0@1+125x16'],
  ranges: { checked: 5, total: 20 },
  rows: { checked: 1999, total: 8000 },
  shareThisRun: 1999 / 8000,
  shareOverRuns: 7999 / 8000,
  runs: 4,
};
const verification: VerificationCoverage = {
  budgetSeconds: 1800,
  coverage: [budgeted],
  history: 'the key ranges of 3 earlier signed report(s) of this drill',
};

test('a budgeted pass that checksummed part of the rows reads as partly verified, rounded down, in every view', () => {
  expect(partlyVerified(verification)).toBe(
    'partly verified: 24.9 % of rows checksummed (verification budget 30m 00s)',
  );
  expect(describeVerification(verification)).toEqual([
    'manifest: 5 of 20 key ranges (1999 of 8000 rows, 24.9 %) checksummed this run; 99.9 % over the last 4 run(s); the rest compared by row count only',
    "Budget 30m 00s; every table's row count was compared. Earlier runs: the key ranges of 3 earlier signed report(s) of this drill.",
  ]);
  const report = sampleReport({ status: 'passed', verification });
  expect(renderMarkdown(report).split('\n')[0]).toBe(
    '# Restore drill: Orders DB: nightly dump — ✅ PASSED (partly verified: 24.9 % of rows checksummed (verification budget 30m 00s))',
  );
  const html = renderHtmlReport({ report, jsonFile: 'x.report.json', signature: { state: 'unchecked', keyid: null } });
  expect(html).toContain('data-partly-verified="true"><strong>Partly verified: 24.9 % of rows checksummed');
  expect(html).toContain('<h2>Verification budget</h2>');
});

test('a budget the whole checksum fitted, or no budget, adds no "partly verified"', () => {
  const full = {
    ...verification,
    coverage: [{ ...budgeted, mode: 'full' as const, shareThisRun: 1, rows: { checked: 8000, total: 8000 } }],
  };
  expect(partlyVerified(full)).toBeNull();
  expect(describeVerification(full)[0]).toBe(
    'manifest: the whole checksum fitted the budget: 5 of 20 key ranges (8000 of 8000 rows, 100.0 %) checksummed',
  );
  expect(partlyVerified(undefined)).toBeNull();
  expect(describeVerification(undefined)).toEqual([]);
  expect(renderMarkdown(sampleReport({ status: 'passed' }))).not.toContain('Verification budget');
});
