import { mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.ts';
import { LOCK_FILE, withDirectoryLock } from './directory-lock.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'restore-drill-lock-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('withDirectoryLock', () => {
  it('lets only one holder in at a time and removes the lock afterwards', async () => {
    let inside = 0;
    let maxInside = 0;
    const holder = async () => {
      inside++;
      maxInside = Math.max(maxInside, inside);
      await sleep(5);
      inside--;
    };
    await Promise.all(Array.from({ length: 8 }, () => withDirectoryLock(dir, holder)));
    expect(maxInside).toBe(1);
    expect(await readdir(dir)).toEqual([]);
  });

  it('releases the lock when the holder throws', async () => {
    await expect(withDirectoryLock(dir, async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await readdir(dir)).toEqual([]);
  });

  it('breaks a lock left behind by a crashed process', async () => {
    const lock = join(dir, LOCK_FILE);
    await writeFile(lock, '999999 2026-01-01T00:00:00Z\n');
    const old = new Date(Date.now() - 120_000);
    await utimes(lock, old, old);
    expect(await withDirectoryLock(dir, async () => 'done')).toBe('done');
  });

  it('gives up on a live lock with a ConfigError naming the lock file', async () => {
    await writeFile(join(dir, LOCK_FILE), `${process.pid}\n`);
    const attempt = withDirectoryLock(dir, async () => 'never', { timeoutMs: 100 });
    await expect(attempt).rejects.toBeInstanceOf(ConfigError);
    await expect(attempt).rejects.toThrow(`report directory ${dir} is locked by another drill (${LOCK_FILE})`);
  });
});

it('a lock left by a process that is gone (killed while writing) is taken over at once', async () => {
  const { mkdtemp, writeFile, rm: remove } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const path = await import('node:path');
  const joinPath = path.join.bind(path);
  const { spawnSync } = await import('node:child_process');
  const dir = await mkdtemp(joinPath(tmpdir(), 'lock-dead-owner-'));
  try {
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString();
    await writeFile(joinPath(dir, LOCK_FILE), `${dead} ${new Date().toISOString()}\n`);
    const result = await withDirectoryLock(dir, async () => 'got it', { timeoutMs: 1000, staleMs: 3_600_000 });
    expect(result).toBe('got it');
  } finally {
    await remove(dir, { recursive: true, force: true });
  }
});
