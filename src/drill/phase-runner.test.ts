import { expect, test } from 'vitest';
import { InterruptedError } from '../errors.ts';
import type { CheckResult } from '../model/report.ts';
import { PhaseClock } from './phase-clock.ts';
import { PhaseRunner } from './phase-runner.ts';
import { INITIAL_STATE } from './run-state.ts';

const check = (name: string): CheckResult => ({ name, status: 'passed', expected: 1, actual: 1 });

test('each phase adds to a new state; the states before it are left as they were', async () => {
  const entered: string[] = [];
  const runner = new PhaseRunner(new PhaseClock(), (event) => entered.push(event.phase));
  const located = await runner.advance(INITIAL_STATE, 'locate', (_, recorder) => {
    recorder.check(check('policy a'));
    recorder.algorithms.add('alg/1');
  });
  const started = await runner.advance(located, 'provision', (state, recorder) => {
    recorder.check(check(`after ${state.checks.length}`));
    recorder.algorithms.add('alg/1');
  });
  expect(entered).toEqual(['locate', 'provision']);
  expect(located.checks.map((c) => c.name)).toEqual(['policy a']);
  expect(started.checks.map((c) => c.name)).toEqual(['policy a', 'after 1']);
  expect(started.algorithms).toEqual(['alg/1']);
  expect(Object.isFrozen(started)).toBe(true);
  expect(INITIAL_STATE.checks).toEqual([]);
});

test('a failed phase keeps what it found before failing, and the phases after it do not run', async () => {
  const runner = new PhaseRunner(new PhaseClock(), () => {});
  const error = new Error('list failed');
  const failed = await runner.advance(INITIAL_STATE, 'locate', (_, recorder) => {
    recorder.check(check('policy a'));
    throw error;
  });
  expect(failed.failure).toEqual({ phase: 'locate', error });
  expect(failed.checks.map((c) => c.name)).toEqual(['policy a']);
  let ran = false;
  const after = await runner.advance(failed, 'provision', () => {
    ran = true;
  });
  expect(ran).toBe(false);
  expect(after).toBe(failed);
});

test('a tolerated error records its check and the run goes on; the phase is timed as failed', async () => {
  const clock = new PhaseClock();
  const runner = new PhaseRunner(clock, () => {});
  const state = await runner.advance(
    INITIAL_STATE,
    'restore',
    () => {
      throw new Error('some objects failed to load');
    },
    (error) => ({ name: 'restore completed', status: 'failed', expected: true, actual: false, detail: String(error) }),
  );
  expect(state.failure).toBeUndefined();
  expect(state.checks.map((c) => `${c.name}: ${c.status}`)).toEqual(['restore completed: failed']);
  expect(clock.phases().map((p) => p.status)).toEqual(['failed']);
});

test('an interrupted phase keeps what it recorded before the signal, not what its abandoned work records after', async () => {
  const controller = new AbortController();
  const runner = new PhaseRunner(new PhaseClock(controller.signal), () => {});
  let release: () => void = () => {};
  const released = new Promise<void>((resolve) => (release = resolve));
  let abandonedDone: () => void = () => {};
  const abandoned = new Promise<void>((resolve) => (abandonedDone = resolve));
  const state = await runner.advance(INITIAL_STATE, 'verify', async (_, recorder) => {
    recorder.check(check('checksum public.orders'));
    controller.abort('SIGTERM');
    await released;
    recorder.check(check('checksum public.customers'));
    recorder.found({ bodyStarted: true });
    abandonedDone();
  });
  release();
  await abandoned;
  expect(state.failure?.phase).toBe('verify');
  expect(state.failure?.error).toBeInstanceOf(InterruptedError);
  expect(state.checks.map((c) => c.name)).toEqual(['checksum public.orders']);
  expect(state.bodyStarted).toBe(false);
});
