import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

// The AWS SDK warns on every run that its 2027 releases need Node 22; the locked version supports Node 20.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

/**
 * The test files that take minutes, longest first, as measured by a clean-clone `.ci/run` (2 cores, 4 workers).
 * A clean clone has no Vitest cache, so Vitest orders files by size and a long file can start last and hold
 * the whole run for its length after every other file is done.
 */
const SLOW_FILES = [
  'src/fleet/fleet-simulation.test.ts',
  'fixtures/faults/faults.test.ts',
  'src/cli/check.test.ts',
  'src/cli/evidence.test.ts',
  'src/cli/run.test.ts',
  'src/environments/local/physical-restore.test.ts',
  'fixtures/hostile/hostile.test.ts',
  'src/cli/bad-input.test.ts',
  'src/cli/mark-dump.test.ts',
  'src/environments/local/cluster-template.test.ts',
  'src/environments/container/container-postgres.test.ts',
  'src/drill/phases/physical-moment.test.ts',
];

// Kept in this file: a user's repository may copy this config without src/.
/** Vitest's order, except that the files known to take minutes start first (see {@link SLOW_FILES}). */
class SlowFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const rank = (spec: TestSpecification) => {
      const index = SLOW_FILES.findIndex((file) => spec.moduleId.endsWith(`/${file}`));
      return index === -1 ? SLOW_FILES.length : index;
    };
    // Array.prototype.sort is stable: files not in the list keep Vitest's order after the slow ones.
    return sorted.sort((a, b) => rank(a) - rank(b));
  }
}

export default defineConfig({
  test: {
    // Vitest's default is one worker per core minus one: a single worker on a 2-core CI machine. These tests
    // mostly wait on PostgreSQL, pg_restore and child CLIs, so four files at a time keep both cores busy.
    maxWorkers: 4,
    // The few files that take minutes start first, so none of them is left running alone at the end.
    sequence: { sequencer: SlowFirstSequencer },
    projects: [
      {
        test: {
          name: 'unit',
          include: ['src/**/*.test.ts', 'fixtures/**/*.test.ts', 'scripts/**/*.test.ts'],
          // Each test file starts its own PostgreSQL clusters and servers; a few minutes is the upper bound.
          testTimeout: 120_000,
          hookTimeout: 120_000,
          pool: 'forks',
          // A run or check without a signing key is a usage error under CI (as it must be for real drills);
          // the tests make their reports with test keys or the local demo key whatever machine runs them.
          // Tests of the CI behaviour set CI themselves.
          env: { CI: '' },
        },
      },
      {
        test: {
          name: 'drills',
          include: ['drills/**/*.drill.ts'],
          testTimeout: 0,
          hookTimeout: 600_000,
          pool: 'forks',
        },
      },
    ],
  },
});
