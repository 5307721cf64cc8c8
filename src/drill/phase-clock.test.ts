import { expect, test } from 'vitest';
import { InterruptedError } from '../errors.ts';
import { PhaseClock } from './phase-clock.ts';

test('phases are recorded in order and the RTO clock spans locate to verify', async () => {
  const clock = new PhaseClock();
  await clock.run('locate', async () => 1);
  await clock.run('provision', async () => 2);
  await clock.run('restore', async () => 3);
  await clock.run('verify', async () => 4);
  await clock.run('report', async () => 5);
  expect(clock.phases().map((p) => [p.name, p.status])).toEqual([
    ['locate', 'ok'],
    ['provision', 'ok'],
    ['restore', 'ok'],
    ['verify', 'ok'],
    ['report', 'ok'],
  ]);
  const sum = clock
    .phases()
    .slice(0, 4)
    .reduce((s, p) => s + p.seconds, 0);
  expect(clock.rtoSeconds()).toBeGreaterThanOrEqual(Math.max(0, sum - 0.01));
});

test('no RTO when verify did not finish, and the failed phase is named', async () => {
  const clock = new PhaseClock();
  await clock.run('locate', async () => 1);
  await expect(
    clock.run('restore', async () => {
      throw new Error('boom');
    }),
  ).rejects.toThrow('boom');
  expect(clock.current).toBe('restore');
  expect(clock.phases().at(-1)?.status).toBe('failed');
  expect(clock.rtoSeconds()).toBeNull();
});

test('an abort ends the running phase as interrupted', async () => {
  const controller = new AbortController();
  const clock = new PhaseClock(controller.signal);
  const pending = clock.run('restore', () => new Promise(() => {}));
  controller.abort('SIGTERM');
  await expect(pending).rejects.toBeInstanceOf(InterruptedError);
  expect(clock.phases()[0]).toMatchObject({ name: 'restore', status: 'interrupted' });
});

test('a phase that continues as another (a restore going on to replay WAL) is timed as two; a failure after is the later one', async () => {
  const clock = new PhaseClock();
  await clock.run('restore', async (continueAs) => {
    await Promise.resolve();
    continueAs('replay');
  });
  await expect(
    clock.run('restore', (continueAs) => {
      continueAs('replay');
      return Promise.reject(new Error('the server exited during recovery'));
    }),
  ).rejects.toThrow();
  expect(clock.phases().map((p) => [p.name, p.status])).toEqual([
    ['restore', 'ok'],
    ['replay', 'ok'],
    ['restore', 'ok'],
    ['replay', 'failed'],
  ]);
  expect(clock.current).toBe('replay');
});
