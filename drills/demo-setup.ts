import { readFile, writeFile } from 'node:fs/promises';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { prepareDemoBackup } from '../fixtures/demo/prepare-demo-backup.ts';
import { withDirectoryLock } from '../src/evidence/directory-lock.ts';

/** Which run last built the demo backups: the Vitest main process that the drill workers are forked from. */
const BUILT_BY = '.demo-built-by';

/**
 * Used by the example drills only: before the drill of the file that calls it, builds the demo "production"
 * database from fixtures/, marks it and dumps it into backups/. Drill files run in parallel worker processes,
 * so a lock in the backup folder makes the first one build and the others reuse what it built in this run.
 * Your own drills point at real backups and never import this; deleting the example drills removes it.
 * Under CI the examples may sign with the demo key (see below): they are demos, and their reports say so.
 */
export function useDemoBackups(): void {
  // The examples sign with the local demo key, also when this repository's own CI runs its test suite: their
  // data is fixture data and every view of their reports says so. Only this worker process (this example
  // file) is affected, and only while it runs: a worker may run other drill files after this one (isolate:
  // false), and those must see CI as it was. `restore-drill run` still refuses to start under CI without a real key.
  const ci = process.env.CI;
  process.env.CI = '';
  afterAll(() => {
    if (ci === undefined) delete process.env.CI;
    else process.env.CI = ci;
  });
  beforeAll(async () => {
    const dir = process.env.RESTORE_DRILL_DEMO_BACKUPS ?? 'backups';
    mkdirSync(dir, { recursive: true });
    const run = `${process.ppid}`;
    // Building takes a while on a busy machine: the lock must not count as abandoned meanwhile.
    await withDirectoryLock(
      dir,
      async () => {
        if ((await readFile(join(dir, BUILT_BY), 'utf8').catch(() => '')) === run) return;
        await prepareDemoBackup(dir, { log: (line) => process.stderr.write(`restore-drill: ${line}\n`) });
        await writeFile(join(dir, BUILT_BY), run);
      },
      { timeoutMs: 15 * 60_000, staleMs: 15 * 60_000 },
    );
  });
}
