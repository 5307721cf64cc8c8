import { expect, test } from 'vitest';
import { ConfigError } from '../errors.ts';
import type { DrillRun } from './drill-run.ts';
import { timeLimitOf, withTimeLimit } from './time-limit.ts';

const run = { name: 'sleeper', source: { kind: 'test' } } as unknown as DrillRun;

/** Resolves with the abort reason once the signal the work was given aborts (never, if it does not). */
function untilAborted(limited: DrillRun): Promise<unknown> {
  return new Promise((resolve) => limited.signal!.addEventListener('abort', () => resolve(limited.signal!.reason)));
}

test('past its time limit the drill’s signal aborts, saying why', async () => {
  const reason = await withTimeLimit({ ...run, timeLimit: 0.05 }, untilAborted);
  expect((reason as Error).message).toBe(
    'the drill reached its time limit of 0.05s (its timeLimit): code in the backup may sleep or loop',
  );
});

test('an interrupt still aborts it before the limit', async () => {
  const interrupt = new AbortController();
  const reason = withTimeLimit({ ...run, timeLimit: '1h', signal: interrupt.signal }, untilAborted);
  interrupt.abort('SIGTERM');
  expect(await reason).toBe('SIGTERM');
});

test('the work gets the limit that applies, for the report', async () => {
  const limit = await withTimeLimit({ ...run, objectives: { rto: '4h' } }, async (_limited, applied) => applied);
  expect(limit).toEqual({ seconds: 8 * 3600, basis: 'rto', shown: '8h 00m' });
});

test('a drill without a timeLimit still gets one: twice its RTO, at least 1h, else 6h', () => {
  expect(timeLimitOf({ name: 'd', timeLimit: '90m', objectives: { rto: '4h' } })).toEqual({
    seconds: 5400,
    basis: 'timeLimit',
    shown: '90m',
  });
  expect(timeLimitOf({ name: 'd', objectives: { rto: '4h' } })).toMatchObject({ seconds: 28800, basis: 'rto' });
  expect(timeLimitOf({ name: 'd', objectives: { rto: '5m' } })).toMatchObject({ seconds: 3600, basis: 'rto' });
  expect(timeLimitOf({ name: 'd', objectives: { rpo: '1h' } })).toEqual({
    seconds: 21600,
    basis: 'default',
    shown: '6h',
  });
  // An RTO too long for a timer is capped at the longest one, not refused: the RTO itself is valid.
  expect(timeLimitOf({ name: 'd', objectives: { rto: '30d' } }).seconds).toBeLessThanOrEqual(24.9 * 86400);
});

test('a bad RTO is named as the RTO', () => {
  expect(() => timeLimitOf({ name: 'd', objectives: { rto: '8 hours' } })).toThrow('bad RTO "8 hours"');
});

test.each(['soon', '0s', '30d'])('a time limit of %s is a ConfigError before anything runs', async (timeLimit) => {
  let ran = false;
  const error = await withTimeLimit({ ...run, timeLimit }, async () => void (ran = true)).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(ConfigError);
  expect((error as Error).message).toContain('time limit of drill "sleeper"');
  expect(ran).toBe(false);
});
