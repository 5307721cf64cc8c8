import { mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RecoveryPoint } from '../../model/recovery-point.ts';
import { listedSource } from '../../testing/listed-source.ts';
import { walContinuityPolicy } from './wal-continuity-policy.ts';

// An archive folder as archive_command leaves it: segment files whose modification time is their archive time
// (the real tools' archives are exercised end to end in environments/local/physical-restore.test.ts).
const now = new Date('2026-12-02T12:00:00Z');
let archive: string;

async function archived(name: string, minutesAgo: number): Promise<void> {
  const file = join(archive, name);
  await writeFile(file, '');
  const at = new Date(now.getTime() - minutesAgo * 60_000);
  await utimes(file, at, at);
}

async function evaluate() {
  const point: RecoveryPoint = {
    source: 'base-backup',
    id: '/backups/base',
    createdAt: now,
    createdAtBasis: 'backup_label start time',
    facts: { walArchive: archive },
  };
  const policy = walContinuityPolicy({ maxGap: '5m', within: '1h' });
  return policy.evaluate({
    points: [point],
    now,
    source: listedSource(),
    sourceContext: { workDir: archive, log: () => {} },
  });
}

beforeEach(async () => {
  archive = await mkdtemp(join(tmpdir(), 'restore-drill-wal-policy-'));
});
afterEach(async () => {
  await rm(archive, { recursive: true, force: true });
});

describe('walContinuityPolicy', () => {
  it('passes an archive with every segment and none further apart than maxGap', async () => {
    for (let i = 0; i < 16; i++)
      await archived(`0000000100000000000000${(i + 1).toString(16).toUpperCase().padStart(2, '0')}`, 60 - i * 4);
    expect((await evaluate()).map((c) => c.status)).toEqual(['passed', 'passed']);
  });

  it('names a missing segment and the longest stretch without WAL', async () => {
    await archived('000000010000000000000001', 50);
    await archived('000000010000000000000002', 46);
    await archived('000000010000000000000004', 10);
    const [missing, gap] = await evaluate();
    expect(missing).toMatchObject({
      status: 'failed',
      actual: 'missing 000000010000000000000003 (after 000000010000000000000002)',
    });
    expect(gap!.status).toBe('failed');
    expect(gap!.actual).toMatch(/^longest 36m/);
  });
});
