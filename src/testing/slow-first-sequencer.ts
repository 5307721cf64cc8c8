import { BaseSequencer, type TestSpecification } from 'vitest/node';

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

/** Vitest's order, except that the files known to take minutes start first (see {@link SLOW_FILES}). */
export default class SlowFirstSequencer extends BaseSequencer {
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
