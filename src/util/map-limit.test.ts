import { describe, expect, test } from 'vitest';
import { mapLimit } from './map-limit.ts';

describe('mapLimit', () => {
  test('keeps the input order with at most `limit` calls in flight', async () => {
    let inFlight = 0;
    let most = 0;
    const out = await mapLimit([5, 1, 4, 2, 3], 2, async (n) => {
      most = Math.max(most, ++inFlight);
      await new Promise((resolve) => setTimeout(resolve, n));
      inFlight -= 1;
      return n * 10;
    });
    expect(out).toEqual([50, 10, 40, 20, 30]);
    expect(most).toBe(2);
  });

  test('after a failure it starts no new call, and throws the first error once the calls in flight have settled', async () => {
    const started: number[] = [];
    const settled: number[] = [];
    let slowDone = false;
    const run = mapLimit([0, 1, 2, 3], 2, async (n) => {
      started.push(n);
      try {
        if (n === 0) {
          await new Promise((resolve) => setTimeout(resolve, 50));
          slowDone = true;
          return n;
        }
        throw new Error(`failed ${n}`);
      } finally {
        settled.push(n);
      }
    });
    await expect(run).rejects.toThrow('failed 1');
    expect(slowDone).toBe(true); // the slow call finished before the rejection
    expect(started).toEqual([0, 1]);
    expect(settled.sort()).toEqual([0, 1]);
  });
});
