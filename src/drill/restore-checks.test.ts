import { expect, test } from 'vitest';
import type { CheckResult } from '../model/report.ts';
import { ConfigError } from '../errors.ts';
import { assertSomethingToCheck, NOTHING_VERIFIED, nothingVerifiedCheck } from './restore-checks.ts';

const step = (name: string): CheckResult => ({ name, status: 'passed', expected: true, actual: true });

test('a drill whose only passed checks are steps (restore completed, markers present) fails "something verified", saying what to add', () => {
  const check = nothingVerifiedCheck([step('restore completed'), step('markers present')]);
  expect(check).toMatchObject({
    name: NOTHING_VERIFIED,
    status: 'failed',
    expected: 'at least one check that could fail',
    actual: 'none',
  });
  expect(check!.detail).toMatch(/only steps passed \(restore completed, markers present\).*restore-drill mark/);
});

test('no check at all fails it too; skipped checks are not verification', () => {
  expect(nothingVerifiedCheck([])?.detail).toMatch(/^no check ran: add a policy that checks something/);
  expect(
    nothingVerifiedCheck([{ name: 'policy offsite copy', status: 'skipped', expected: null, actual: null }]),
  ).toMatchObject({ status: 'failed', detail: expect.stringMatching(/^no check ran \(1 skipped\): /) });
});

test('one check that could have failed and passed is enough; a drill that already failed needs no more', () => {
  expect(nothingVerifiedCheck([step('restore completed'), step('row count public.orders (manifest)')])).toBeUndefined();
  expect(
    nothingVerifiedCheck([{ name: 'policy freshness', status: 'failed', expected: '≤ 1d', actual: '2d' }]),
  ).toBeUndefined();
});

test('a policy-only drill with an RTO target is refused: nothing is restored, so nothing could be timed', () => {
  const policies = [{ name: 'p', evaluate: () => [] }];
  expect(() => assertSomethingToCheck({ name: 'd', restore: false, policies, objectives: { rto: '1h' } })).toThrow(
    ConfigError,
  );
  expect(() =>
    assertSomethingToCheck({ name: 'd', restore: false, policies, objectives: { rpo: '1h' } }),
  ).not.toThrow();
  expect(() => assertSomethingToCheck({ name: 'd', objectives: { rto: '1h' } })).not.toThrow();
});
