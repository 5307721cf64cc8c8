import { mkdir, open, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConfigError } from '../errors.ts';
import { processAlive } from '../util/process-alive.ts';

/** Name of the lock file that serialises writers of one report directory. */
export const LOCK_FILE = '.restore-drill.lock';

/** How long to wait for a lock, and when a left-over lock counts as abandoned. */
export interface DirectoryLockOptions {
  /** Give up after this long; default 60 s (the holder also regenerates the directory's HTML index). */
  readonly timeoutMs?: number;
  /** A lock file older than this was left by a crashed process and is removed; default 60 s. */
  readonly staleMs?: number;
}

/**
 * Runs `fn` while holding an exclusive lock file in `dir`, so two drills writing to the same report directory
 * cannot both read the same newest report as their `previous`. The lock is held for milliseconds, which is
 * why a lock older than `staleMs` can safely be treated as left by a crash.
 *
 * @example
 * await withDirectoryLock('reports', async () => { … read newest, write next … });
 */
export async function withDirectoryLock<T>(
  dir: string,
  fn: () => Promise<T>,
  options: DirectoryLockOptions = {},
): Promise<T> {
  const path = join(dir, LOCK_FILE);
  const timeoutMs = options.timeoutMs ?? 60_000;
  const staleMs = options.staleMs ?? 60_000;
  const deadline = Date.now() + timeoutMs;
  // The directory may not exist yet (a run whose drills were all skipped writes only its CI outputs there).
  await mkdir(dir, { recursive: true });
  for (;;) {
    try {
      const handle = await open(path, 'wx');
      await handle.writeFile(`${process.pid} ${new Date().toISOString()}\n`).finally(() => handle.close());
      break;
    } catch (error) {
      if ((error as { code?: string }).code !== 'EEXIST') throw error;
    }
    if (await removeIfStale(path, staleMs)) continue;
    if (Date.now() >= deadline) {
      throw new ConfigError(
        `report directory ${dir} is locked by another drill (${LOCK_FILE})`,
        `wait for it to finish, or delete ${path} if no drill is running`,
      );
    }
    // Jitter keeps waiting drills from retrying in lockstep.
    await sleep(25 + Math.random() * 50);
  }
  try {
    return await fn();
  } finally {
    await rm(path, { force: true });
  }
}

async function removeIfStale(path: string, staleMs: number): Promise<boolean> {
  try {
    // A lock whose owner process is gone (killed while writing) is stale at once; an unreadable or
    // half-written one only after staleMs.
    const owner = Number((await readFile(path, 'utf8')).split(' ')[0]);
    const ownerGone = Number.isInteger(owner) && owner > 0 && !processAlive(owner);
    const { mtimeMs } = await stat(path);
    if (!ownerGone && Date.now() - mtimeMs < staleMs) return false;
    await rm(path, { force: true });
    return true;
  } catch (error) {
    // Released between our open and our stat: just try again.
    if ((error as { code?: string }).code === 'ENOENT') return true;
    throw error;
  }
}
