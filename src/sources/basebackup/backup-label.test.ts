import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { ConfigError } from '../../errors.ts';
import { readBackupLabel } from './backup-label.ts';

const LABEL = `START WAL LOCATION: 0/2000028 (file 000000010000000000000002)
CHECKPOINT LOCATION: 0/2000060
BACKUP METHOD: streamed
BACKUP FROM: primary
START TIME: 2026-12-02 11:00:00 UTC
LABEL: pg_basebackup base backup
START TIMELINE: 1
`;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'backup-label-test-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function backupWith(name: string, plant: (file: string) => Promise<void>): Promise<string> {
  const backup = join(dir, name);
  await mkdir(backup);
  await plant(join(backup, 'backup_label'));
  return backup;
}

test('a backup_label as pg_basebackup writes it is read', async () => {
  const backup = await backupWith('good', (file) => writeFile(file, LABEL));
  expect(await readBackupLabel(backup, { format: 'plain' })).toMatchObject({
    startSegment: '000000010000000000000002',
    startLsn: '0/2000028',
    timeline: 1,
    method: 'streamed',
  });
});

test('a backup_label that is a symlink, a FIFO or huge is refused in one line, never followed or read forever', async () => {
  const elsewhere = join(dir, 'host-file');
  await writeFile(elsewhere, LABEL); // a valid label, but not the backup's own file
  const cases = [
    [await backupWith('to-a-host-file', (file) => symlink(elsewhere, file)), /backup_label is a symlink/],
    [await backupWith('to-dev-zero', (file) => symlink('/dev/zero', file)), /backup_label is a symlink/],
    [
      await backupWith('fifo', async (file) => void execFileSync('mkfifo', [file])),
      /backup_label is not a regular file/,
    ],
    [await backupWith('huge', (file) => writeFile(file, LABEL + 'x'.repeat(100_000))), /backup_label is \d+ bytes/],
  ] as const;
  for (const [backup, message] of cases) {
    const error = await readBackupLabel(backup, { format: 'plain' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).not.toContain('\n');
  }
});
