import { expect, test } from 'vitest';
import {
  defaultKeyDir,
  settingsFromEnvironment,
  verifyBudgetSeconds,
  withEnvironmentDefaults,
} from './drill-settings.ts';

test("the user's environment variables are read as settings; empty ones are unset", () => {
  expect(
    settingsFromEnvironment({
      RESTORE_DRILL_REPORT_DIR: 'out',
      RESTORE_DRILL_SIGNING_KEY: 'kms://alias/drills',
      RESTORE_DRILL_CADENCE: ' 7d ',
      RESTORE_DRILL_VERIFY_BUDGET: '30m',
      RESTORE_DRILL_EVIDENCE: 's3://bucket/prefix/',
      RESTORE_DRILL_EVIDENCE_RETENTION: '',
    }),
  ).toEqual({
    reportDir: 'out',
    signingKey: 'kms://alias/drills',
    cadence: '7d',
    verifyBudget: '30m',
    evidence: 's3://bucket/prefix/',
  });
  expect(settingsFromEnvironment({})).toEqual({});
});

test('values given (by the CLI) win over the environment, which fills in the rest', () => {
  const env = { RESTORE_DRILL_REPORT_DIR: 'from-env', RESTORE_DRILL_CADENCE: '7d' };
  expect(withEnvironmentDefaults({ reportDir: '/abs/reports', evidence: undefined, progressLines: true }, env)).toEqual(
    {
      reportDir: '/abs/reports',
      cadence: '7d',
      progressLines: true,
    },
  );
  expect(withEnvironmentDefaults(undefined, env)).toEqual({ reportDir: 'from-env', cadence: '7d' });
});

test('a verification budget is a duration longer than 0; anything else is a usage error naming where it came from', () => {
  expect(verifyBudgetSeconds('1h30m', '--verify-budget')).toBe(5400);
  expect(() => verifyBudgetSeconds('0s', '--verify-budget')).toThrow('bad --verify-budget "0s": no time to verify in');
  expect(() => verifyBudgetSeconds('half an hour', '$RESTORE_DRILL_VERIFY_BUDGET')).toThrow(
    'bad $RESTORE_DRILL_VERIFY_BUDGET "half an hour"',
  );
});

test('the demo key lives under RESTORE_DRILL_HOME when set, else in the working directory', () => {
  expect(defaultKeyDir({ RESTORE_DRILL_HOME: '/home/drills' })).toBe('/home/drills/keys');
  expect(defaultKeyDir({})).toBe(`${process.cwd()}/.restore-drill/keys`);
});
