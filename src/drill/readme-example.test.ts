import { readFile } from 'node:fs/promises';
import { expect, test } from 'vitest';

const root = new URL('../../', import.meta.url);

// The README shows an example drill "in full": it must be the file, not a copy that drifts from it.
test("the README's drill example is drills/shop-latest-dump.drill.ts, character for character", async () => {
  const readme = await readFile(new URL('README.md', root), 'utf8');
  const intro = 'This is `drills/shop-latest-dump.drill.ts` in full:\n\n```ts\n';
  const start = readme.indexOf(intro);
  expect(start, 'the README no longer introduces the example file').toBeGreaterThan(-1);
  const block = readme.slice(start + intro.length, readme.indexOf('```\n', start + intro.length));
  expect(block).toBe(await readFile(new URL('drills/shop-latest-dump.drill.ts', root), 'utf8'));
});
