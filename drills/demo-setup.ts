import { spawnSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, test } from 'vitest';
import { prepareDemoBackup } from '../fixtures/demo/prepare-demo-backup.ts';
import { preparePgBackRestDemo } from '../fixtures/demo/prepare-pgbackrest-demo.ts';
import { withDirectoryLock } from '../src/evidence/directory-lock.ts';

/** Which run last built the demo backups: the Vitest main process that the drill workers are forked from. */
const BUILT_BY = '.demo-built-by';

const demoLog = (line: string) => process.stderr.write(`restore-drill: ${line}\n`);

/**
 * Used by the example drills only: before the drill of the file that calls it, builds the demo "production"
 * database from fixtures/, marks it and dumps it into backups/. Drill files run in parallel worker processes,
 * so a lock in the backup folder makes the first one build and the others reuse what it built in this run.
 * Your own drills point at real backups and never import this; deleting the example drills removes it.
 * Under CI the examples may sign with the demo key (see below): they are demos, and their reports say so.
 */
export function useDemoBackups(): void {
  useDemo('', (dir) => prepareDemoBackup(dir, { log: demoLog }));
}

/**
 * Used by the point-in-time example only: builds its demo "production" once per run — an archiving
 * PostgreSQL with the shop fixture, markers and a few pgBackRest backups in a stanza `shop` whose repository
 * and drill config are in `backups/pgbackrest/` (its own folder and lock: the dump examples' backups are
 * untouched) — and removes that production cluster again. Returns false, after printing one line saying so,
 * when pgbackrest is not installed: the example is then reported as skipped, never silently left out.
 *
 * @example
 * if (usePgBackRestDemoBackups(NAME)) drill(NAME, { source: pgBackRestSource({ stanza: 'shop', … }) }, body);
 */
export function usePgBackRestDemoBackups(name: string): boolean {
  if (spawnSync('pgbackrest', ['version'], { stdio: 'ignore' }).error) {
    demoLog(`skipping the example drill "${name}": pgbackrest is not installed (apt-get install pgbackrest)`);
    test.skip(`${name} (pgbackrest is not installed)`, () => {});
    return false;
  }
  useDemo('pgbackrest', (dir) => preparePgBackRestDemo(dir, { log: demoLog }));
  return true;
}

/** Builds a demo into `<backups>/<folder>` once per run, under a lock in that folder; signs with the demo key. */
function useDemo(folder: string, build: (dir: string) => Promise<unknown>): void {
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
    const dir = join(process.env.RESTORE_DRILL_DEMO_BACKUPS ?? 'backups', folder);
    mkdirSync(dir, { recursive: true });
    const run = `${process.ppid}`;
    // Building takes a while on a busy machine: the lock must not count as abandoned meanwhile.
    await withDirectoryLock(
      dir,
      async () => {
        if ((await readFile(join(dir, BUILT_BY), 'utf8').catch(() => '')) === run) return;
        await build(dir);
        await writeFile(join(dir, BUILT_BY), run);
      },
      { timeoutMs: 15 * 60_000, staleMs: 15 * 60_000 },
    );
  });
}
