import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { beforeAll, expect, test } from 'vitest';

// There is no YAML parser among the dependencies: these read the workflow as text, step by step, for
// the promises docs/ci.md makes about it. GitHub itself is the parser; this catches edits that break them.
const WORKFLOW = fileURLToPath(new URL('../../.github/workflows/restore-drill.yml', import.meta.url));
let text: string;
let steps: string[];

beforeAll(async () => {
  text = await readFile(WORKFLOW, 'utf8');
  steps = text
    .slice(text.indexOf('    steps:'))
    .split(/\n {6}- /)
    .slice(1);
});

const step = (pattern: RegExp) => {
  const found = steps.filter((s) => pattern.test(s));
  expect(found, `one step matching ${pattern}`).toHaveLength(1);
  return found[0]!;
};

test('is indented YAML without tabs, triggered monthly at an off-peak minute and by hand', () => {
  expect(text).not.toContain('\t');
  const cron = /^ {4}- cron: '([^']+)'$/m.exec(text)?.[1];
  expect(cron).toBeDefined();
  const [minute, hour, day, month, weekday] = cron!.split(' ');
  expect(Number(minute)).toBeGreaterThan(0); // not on the full hour
  expect(Number(minute)).toBeLessThan(60);
  expect(Number(hour)).toBeLessThan(6); // night in UTC
  expect(Number(day)).toBeGreaterThanOrEqual(1);
  expect([month, weekday]).toEqual(['*', '*']);
  expect(text).toMatch(/^ {2}workflow_dispatch:$/m);
});

test('takes the AWS role by OIDC and the signing key from a secret or variable', () => {
  expect(text).toMatch(/^permissions:\n(?: {2}.*\n|\s*#.*\n)*? {2}id-token: write$/m);
  const aws = step(/uses: aws-actions\/configure-aws-credentials@v\d+/);
  expect(aws).toMatch(/role-to-assume: \$\{\{ vars\.RESTORE_DRILL_AWS_ROLE_ARN \}\}/);
  const run = step(/npx restore-drill run /);
  expect(run).toMatch(/RESTORE_DRILL_SIGNING_KEY: \$\{\{ secrets\.RESTORE_DRILL_SIGNING_KEY/);
  expect(run).toMatch(/--report-dir "\$REPORT_DIR"/);
  expect(text).toMatch(/^ {6}REPORT_DIR: reports$/m);
});

test('installs PostgreSQL and dependencies before the drills, and fails the job when a drill fails', () => {
  const names = steps.map((s) => s.split('\n')[0]);
  const index = (pattern: RegExp) => names.findIndex((n) => pattern.test(n!));
  expect(index(/Install PostgreSQL/)).toBeGreaterThanOrEqual(0);
  expect(index(/npm ci/)).toBeGreaterThan(index(/Install PostgreSQL/));
  expect(index(/Run the drills/)).toBeGreaterThan(index(/npm ci/));
  const run = step(/npx restore-drill run /);
  expect(run).not.toMatch(/continue-on-error|\|\| true/);
  // Form input reaches the shell through the environment only, never pasted into the script.
  expect(run.slice(run.indexOf('run: |'))).not.toContain('${{');
});

test('uploads the report directory even when the drills failed', () => {
  const upload = step(/uses: actions\/upload-artifact@v\d+/);
  expect(upload).toMatch(/^ {8}if: always\(\)$/m);
  expect(upload).toMatch(/^ {10}path: reports\/$/m);
  const names = steps.map((s) => s.split('\n')[0]);
  expect(names.findIndex((n) => /upload-artifact|Upload/.test(n!))).toBeGreaterThan(
    names.findIndex((n) => /Run the drills/.test(n!)),
  );
});

test('keeps the reports in the evidence store and records a cadence that matches the monthly schedule', () => {
  const run = step(/npx restore-drill run /);
  expect(run).toMatch(/RESTORE_DRILL_EVIDENCE: \$\{\{ vars\.RESTORE_DRILL_EVIDENCE \}\}/);
  expect(run).toMatch(/RESTORE_DRILL_EVIDENCE_RETENTION: \$\{\{ vars\.RESTORE_DRILL_EVIDENCE_RETENTION \}\}/);
  // The schedule runs on one day of every month: the cadence the drills are judged stale against.
  expect(/^ {4}- cron: '\d+ \d+ \d+ \* \*'$/m.test(text)).toBe(true);
  expect(run).toMatch(/npx restore-drill run .*--cadence 1mo/);
  // No more copying the report directory to and from S3 by hand: the store is the one place.
  expect(text).not.toContain('aws s3 sync');
});
