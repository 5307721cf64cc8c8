import { configDefaults, defineConfig } from 'vitest/config';

// The AWS SDK warns on every run that its 2027 releases need Node 22; the locked version supports Node 20.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

/** Test files that need a fresh process each (see the unit-isolated project). */
const ISOLATED = ['src/environments/container/**/*.test.ts'];

const unit = {
  include: ['src/**/*.test.ts', 'fixtures/**/*.test.ts', 'scripts/**/*.test.ts'],
  // Each test file starts its own PostgreSQL clusters and servers; a few minutes is the upper bound (a `run`
  // of several restoring drills took over two on a 2-core machine running the suite beside other work).
  testTimeout: 240_000,
  hookTimeout: 240_000,
  pool: 'forks' as const,
  unstubEnvs: true,
  // A run or check without a signing key is a usage error under CI (as it must be for real drills); the tests
  // make their reports with test keys or the local demo key whatever machine runs them. Tests of the CI
  // behaviour set CI themselves.
  env: { CI: '' },
};

export default defineConfig({
  test: {
    // Vitest's default is one worker per core minus one: a single worker on a 2-core CI machine. These tests
    // mostly wait on PostgreSQL, pg_restore and child CLIs, so four files at a time keep both cores busy.
    maxWorkers: 4,
    projects: [
      {
        test: {
          ...unit,
          name: 'unit',
          exclude: [...configDefaults.exclude, ...ISOLATED],
          // A worker runs test files in turn with the modules of src/ imported once (≈ 0.9 s of CPU less per
          // file); the setup file puts back the environment variables each file changed, and nothing here
          // mocks modules (vi.mock would leak into the next file).
          isolate: false,
          setupFiles: ['src/testing/file-isolation.setup.ts'],
        },
      },
      {
        // testcontainers keeps the container runtime it found in module state: these files (which point it at
        // dead sockets, or need it fresh) get a process each.
        test: { ...unit, name: 'unit-isolated', include: ISOLATED, isolate: true },
      },
      {
        test: {
          name: 'drills',
          include: ['drills/**/*.drill.ts'],
          testTimeout: 0,
          hookTimeout: 600_000,
          pool: 'forks',
          // As `restore-drill init` writes it: a worker runs drill files in turn, restore-drill imported once.
          isolate: false,
        },
      },
    ],
  },
});
