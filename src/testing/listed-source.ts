import { expect } from 'vitest';
import type { Source } from '../sources/source.ts';

/**
 * A source that lists one recovery point and refuses to fetch it: for policy-only drills (`restore: false`)
 * whose test is about what happens around the drill, not about the data.
 *
 * @example
 * await runDrill({ name, source: listedSource(), restore: false, environment, … });
 */
export function listedSource(): Source {
  return {
    kind: 'test',
    describe: () => 'one recovery point',
    list: async () => [{ source: 'test', id: 'point-1', createdAt: new Date(), createdAtBasis: 'test', facts: {} }],
    fetch: async () => expect.fail('a policy-only drill fetches nothing'),
  };
}
