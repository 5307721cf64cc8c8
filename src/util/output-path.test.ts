import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ConfigError } from '../errors.ts';
import { checkOutputPath } from './output-path.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'output-path-test-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('checkOutputPath', () => {
  test('a new file, an existing file, a new folder for directory format: fine', async () => {
    await writeFile(join(dir, 'old.dump'), 'x');
    await expect(checkOutputPath(join(dir, 'new.dump'), 'custom')).resolves.toBeUndefined();
    await expect(checkOutputPath(join(dir, 'old.dump'), 'custom')).resolves.toBeUndefined();
    await expect(checkOutputPath(join(dir, 'not', 'yet', 'there'), 'directory')).resolves.toBeUndefined();
  });

  test.each([
    [
      '/proc/restore-drill.dump',
      /--out \/proc\/restore-drill\.dump is on procfs, which holds kernel interfaces, not files/,
    ],
    ['/proc/self/mem', /is on procfs/],
    ['/sys/kernel/restore-drill.dump', /is on sysfs/],
    ['/dev/null', /--out \/dev\/null is a character device, not a file/],
  ])('%s is refused', async (path, message) => {
    const check = checkOutputPath(path, 'custom');
    await expect(check).rejects.toBeInstanceOf(ConfigError);
    await expect(check).rejects.toThrow(message);
  });

  test('a FIFO, a symlink to a device, and a folder for a custom-format dump are refused', async () => {
    execFileSync('mkfifo', [join(dir, 'pipe')]);
    await symlink('/dev/zero', join(dir, 'zero.dump'));
    await mkdir(join(dir, 'folder'));
    await expect(checkOutputPath(join(dir, 'pipe'), 'custom')).rejects.toThrow(/is a FIFO \(named pipe\), not a file/);
    await expect(checkOutputPath(join(dir, 'zero.dump'), 'custom')).rejects.toThrow(/is a character device/);
    await expect(checkOutputPath(join(dir, 'folder'), 'custom')).rejects.toThrow(/is a folder/);
  });
});
