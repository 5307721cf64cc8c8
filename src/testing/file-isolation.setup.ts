// Setup for every unit test file. The unit project runs test files in turn in a reused worker
// (vitest.config.ts: isolate: false, which saves re-importing the modules of src/ for every file), so what
// one file changes in the process must not reach the next: environment variables are put back as they were
// when the file started, whether it changed them with vi.stubEnv or by assigning process.env.
import { afterAll } from 'vitest';

const before = { ...process.env };

afterAll(() => {
  for (const name of Object.keys(process.env)) if (!(name in before)) delete process.env[name];
  Object.assign(process.env, before);
  process.exitCode = undefined;
});
