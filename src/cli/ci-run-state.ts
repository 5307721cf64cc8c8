import { open, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DrillMeta } from '../model/drill-meta.ts';
import type { CiRun, NotRunDrill } from '../views/ci-summary.ts';
import { withDirectoryLock } from '../evidence/directory-lock.ts';

/**
 * Hidden file in the report directory: the drills of the `run`/`check` processes that wrote CI outputs
 * there lately. Hidden, so the report listing never reads it.
 */
export const CI_STATE_FILE = '.restore-drill-ci.json';

/** Bigger than any real state; a larger file is not ours and is started afresh. */
const MAX_STATE_BYTES = 16 * 1024 * 1024;

interface CiStateEntry {
  /** When that process wrote its CI outputs. */
  readonly finishedAt: string;
  readonly drills: DrillMeta[];
  readonly notRun: NotRunDrill[];
  readonly skipped?: NotRunDrill[];
}

/**
 * The drills `junit.xml` and `summary.md` list: this process's, plus those of every other process that
 * wrote CI outputs into the same directory while this one was running (it finished after `startedAt`).
 * Parallel `check`s into one directory thus each leave a file listing all of them, while a later run
 * in the same directory starts afresh. `write` runs under the directory lock with the merged run, so the
 * last writer's files hold every drill.
 *
 * @example
 * await withConcurrentRuns('reports', run, startedAt, async (all) => { await writeJunit(all); });
 */
export async function withConcurrentRuns<T>(
  reportDir: string,
  own: CiRun,
  startedAt: Date,
  write: (all: CiRun) => Promise<T>,
): Promise<T> {
  return withDirectoryLock(reportDir, async () => {
    const path = join(reportDir, CI_STATE_FILE);
    const others = (await readState(path)).filter((entry) => Date.parse(entry.finishedAt) >= startedAt.getTime());
    const mine: CiStateEntry = {
      finishedAt: new Date().toISOString(),
      drills: [...own.drills],
      notRun: [...own.notRun],
      skipped: [...(own.skipped ?? [])],
    };
    const seen = new Set(own.drills.map((d) => d.reportPath));
    const drills = [...others.flatMap((e) => e.drills).filter((d) => !seen.has(d.reportPath)), ...own.drills];
    const notRun = [...others.flatMap((e) => e.notRun), ...own.notRun];
    const skipped = [...others.flatMap((e) => e.skipped ?? []), ...(own.skipped ?? [])];
    const temp = `${path}.${process.pid}.tmp`;
    // Losing the state costs only the merge, never the drill's own outputs.
    await writeFile(temp, JSON.stringify({ entries: [...others, mine] }))
      .then(() => rename(temp, path))
      .catch(() => rm(temp, { force: true }).catch(() => {}));
    return write({ drills, notRun, skipped });
  });
}

async function readState(path: string): Promise<CiStateEntry[]> {
  try {
    const handle = await open(path, 'r');
    try {
      if ((await handle.stat()).size > MAX_STATE_BYTES) return [];
    } finally {
      await handle.close();
    }
    const entries = (JSON.parse(await readFile(path, 'utf8')) as { entries?: unknown }).entries;
    if (!Array.isArray(entries)) return [];
    return entries.filter(
      (e: Partial<Record<keyof CiStateEntry, unknown>> | null): e is CiStateEntry =>
        typeof e?.finishedAt === 'string' &&
        Array.isArray(e.drills) &&
        Array.isArray(e.notRun) &&
        e.drills.every((d: unknown) => typeof (d as DrillMeta)?.reportPath === 'string'),
    );
  } catch {
    return []; // none yet, or not readable as ours: start afresh
  }
}
