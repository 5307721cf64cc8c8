import { expect, test } from 'vitest';
import { ConfigError } from '../errors.ts';
import type { DrillRun } from './drill-run.ts';
import { withTimeLimit } from './time-limit.ts';

const run = { name: 'sleeper', source: { kind: 'test' } } as unknown as DrillRun;

/** Resolves with the abort reason once the signal the work was given aborts (never, if it does not). */
function untilAborted(limited: DrillRun): Promise<unknown> {
  return new Promise((resolve) => limited.signal!.addEventListener('abort', () => resolve(limited.signal!.reason)));
}

test('past its time limit the drill’s signal aborts, saying why', async () => {
  const reason = await withTimeLimit({ ...run, timeLimit: 0.05 }, untilAborted);
  expect((reason as Error).message).toBe(
    'the drill reached its time limit of 0.05s (code in the backup may sleep or loop)',
  );
});

test('an interrupt still aborts it before the limit', async () => {
  const interrupt = new AbortController();
  const reason = withTimeLimit({ ...run, timeLimit: '1h', signal: interrupt.signal }, untilAborted);
  interrupt.abort('SIGTERM');
  expect(await reason).toBe('SIGTERM');
});

test('without a time limit the run is passed on as it is', async () => {
  expect(await withTimeLimit(run, async (limited) => limited)).toBe(run);
});

test.each(['soon', '0s', '30d'])('a time limit of %s is a ConfigError before anything runs', async (timeLimit) => {
  let ran = false;
  const error = await withTimeLimit({ ...run, timeLimit }, async () => void (ran = true)).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(ConfigError);
  expect((error as Error).message).toContain('time limit of drill "sleeper"');
  expect(ran).toBe(false);
});
