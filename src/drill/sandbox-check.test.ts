import { expect, test } from 'vitest';
import type { SandboxViolations, StartedEnvironment } from '../environments/environment.ts';
import { sandboxCheck } from './sandbox-check.ts';

/** An environment as the check reads it: only what its sandbox saw. */
const seeing = (seen: SandboxViolations) => ({ sandboxViolations: async () => seen }) as unknown as StartedEnvironment;
const flooded =
  'the server log is larger than 256 MiB (a flood of messages): only that much was scanned, the rest was not';

test('a log too large to scan whole fails the check, saying what was not scanned, instead of passing', async () => {
  const check = await sandboxCheck(
    seeing({ sandboxed: true, description: 'bubblewrap', found: [], unscanned: flooded }),
    true,
  );
  expect(check).toMatchObject({ status: 'failed', actual: 'log not wholly scanned' });
  expect(check!.detail).toBe(
    `none in the part of the server log that was scanned; ${flooded}, so a blocked attempt there would not be seen`,
  );
});

test('attempts found before the flood are named, and the unscanned rest is said too', async () => {
  const found = [{ attempt: 'run a program (id)', object: 'function public.f() during COPY public.t', message: '' }];
  const check = await sandboxCheck(
    seeing({ sandboxed: true, description: 'bubblewrap', found, unscanned: flooded }),
    true,
  );
  expect(check!.status).toBe('failed');
  expect(check!.detail).toContain('the backup contains code that tried to run a program (id) in function public.f()');
  expect(check!.detail).toContain('so a blocked attempt there would not be seen');
});

test('a log scanned whole with nothing blocked passes', async () => {
  const check = await sandboxCheck(seeing({ sandboxed: true, description: 'bubblewrap', found: [] }), true);
  expect(check!.status).toBe('passed');
});
