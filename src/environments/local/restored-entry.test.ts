import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { RestoreDrillError } from '../../errors.ts';
import { clearRestoredEntry, restoredEntry } from './restored-entry.ts';

let dir: string;
let dataDir: string;
let host: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'restored-entry-'));
  dataDir = join(dir, 'data');
  host = join(dir, 'host');
  await mkdir(join(dataDir, 'pg_tblspc'), { recursive: true });
  await mkdir(host);
  // A folder of this host that looks like WAL: its names must never reach the restore.
  await writeFile(join(host, '000000010000000000000001'), 'not the backup’s');
  await symlink(host, join(dataDir, 'pg_wal'));
  await symlink(host, join(dataDir, 'nested'));
  await symlink(join(host, '000000010000000000000001'), join(dataDir, 'backup_manifest'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('a pg_wal planted as a symlink to a folder of this host is refused, naming it, never listed', async () => {
  const error = await restoredEntry(dataDir, 'pg_wal').catch((e: unknown) => e);
  expect(error).toBeInstanceOf(RestoreDrillError);
  expect((error as Error).message).toBe(
    `the restored backup's pg_wal is a symlink to ${JSON.stringify(host)}: restore-drill does not follow a link out of the restored copy`,
  );
  expect((error as RestoreDrillError).hint).toMatch(/without --waldir/);
});

test('a link at any component of a nested entry is refused', async () => {
  await expect(restoredEntry(dataDir, 'nested/000000010000000000000001')).rejects.toThrow(
    "the restored backup's nested/000000010000000000000001 (at nested) is a symlink",
  );
});

test('a real folder is returned, an absent entry is null', async () => {
  expect((await restoredEntry(dataDir, 'pg_tblspc'))?.isDirectory()).toBe(true);
  expect(await restoredEntry(dataDir, 'pg_xlog')).toBeNull();
  expect(await restoredEntry(dataDir, 'pg_tblspc/16400/PG_16')).toBeNull();
});

test('clearing a planted link removes the link, not the host file it points to', async () => {
  await clearRestoredEntry(join(dataDir, 'backup_manifest'));
  expect(await readdir(dataDir)).not.toContain('backup_manifest');
  expect(await readFile(join(host, '000000010000000000000001'), 'utf8')).toBe('not the backup’s');
});
