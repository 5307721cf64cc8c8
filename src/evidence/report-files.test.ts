import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  compactUtc,
  compareReportNames,
  fileDigest,
  isReportFileName,
  listReportFiles,
  readReportFile,
  reportSlug,
} from './report-files.ts';

describe('reportSlug', () => {
  it('lowercases and turns other characters into single dashes', () => {
    expect(reportSlug('Orders DB: nightly (RDS)')).toBe('orders-db-nightly-rds');
    expect(reportSlug('  --ünïcode--  ')).toBe('n-code');
    expect(reportSlug('***')).toBe('drill');
  });

  it('keeps at most 60 characters and no trailing dash', () => {
    const slug = reportSlug(`${'a'.repeat(59)} b`);
    expect(slug).toBe('a'.repeat(59));
    expect(reportSlug('x'.repeat(100))).toHaveLength(60);
  });
});

describe('compactUtc', () => {
  it('writes UTC to the second without separators', () => {
    expect(compactUtc(new Date('2026-11-23T17:52:26.431Z'))).toBe('20261123T175226Z');
  });
});

describe('compareReportNames', () => {
  it('puts a collision twin after the original', () => {
    const names = ['20261123T175226Z-a-2.report.json', '20261123T175226Z-a.report.json'];
    expect(names.sort(compareReportNames)).toEqual([
      '20261123T175226Z-a.report.json',
      '20261123T175226Z-a-2.report.json',
    ]);
  });
});

describe('listReportFiles', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'restore-drill-files-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('lists only report JSON files, oldest first', async () => {
    for (const name of [
      '20261124T000000Z-b.report.json',
      '20261123T000000Z-z.report.json',
      '20261123T000000Z-z.report.md',
      '.20261125T000000Z-c.report.json.123.tmp',
      '.hidden.report.json',
      'README.md',
    ]) {
      await writeFile(join(dir, name), '{}');
    }
    await mkdir(join(dir, 'folder.report.json'));
    expect(await listReportFiles(dir)).toEqual(['20261123T000000Z-z.report.json', '20261124T000000Z-b.report.json']);
  });
});

describe('isReportFileName', () => {
  it('accepts only names restore-drill writes', () => {
    expect(isReportFileName('20261123T175226Z-orders.report.json')).toBe(true);
    expect(isReportFileName('20261123T175226Z-orders-db-2.report.json')).toBe(true);
    for (const name of [
      'zzzz.report.json',
      '99999999T999999Z-x.report.json',
      '20260230T000000Z-x.report.json',
      '20261123T175226Z-.report.json',
      '20261123T175226Z-Orders.report.json',
      '20261123T175226Z-orders.report.json.bak',
    ]) {
      expect(isReportFileName(name), name).toBe(false);
    }
  });
});

describe('listReportFiles with files restore-drill did not write', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'restore-drill-files-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('skips stray names, symlinks and FIFOs with one warning each, once', async () => {
    await writeFile(join(dir, '20261123T000000Z-a.report.json'), '{}');
    await writeFile(join(dir, 'zzzz.report.json'), '{}');
    await symlink('/dev/zero', join(dir, '20261124T000000Z-link.report.json'));
    execFileSync('mkfifo', [join(dir, '20261125T000000Z-fifo.report.json')]);
    const warnings: string[] = [];
    const warn = (line: string) => warnings.push(line);
    expect(await listReportFiles(dir, { warn })).toEqual(['20261123T000000Z-a.report.json']);
    expect(await listReportFiles(dir, { warn })).toEqual(['20261123T000000Z-a.report.json']);
    expect(warnings).toHaveLength(3);
    expect(warnings.find((w) => w.includes('zzzz'))).toMatch(
      /^restore-drill: warning: .*zzzz\.report\.json is not named <UTC time>-<drill>\.report\.json/,
    );
    expect(warnings.find((w) => w.includes('fifo'))).toMatch(/is not a regular file/);
  });
});

describe('readReportFile', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'restore-drill-files-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads a report file', async () => {
    await writeFile(join(dir, 'r.report.json'), '{"a":1}');
    expect(await readReportFile(join(dir, 'r.report.json'))).toEqual({ bytes: Buffer.from('{"a":1}') });
  });

  it('does not read past its limit, through a symlink, or from a FIFO', async () => {
    const big = join(dir, 'big.report.json');
    await writeFile(big, '');
    await truncate(big, 1024 * 1024 + 1);
    expect(await readReportFile(big, { maxBytes: 1024 * 1024 })).toEqual({
      reason: expect.stringMatching(/larger than 1 MiB/),
    });
    await symlink('/dev/zero', join(dir, 'zero.report.json'));
    expect(await readReportFile(join(dir, 'zero.report.json'))).toEqual({ reason: 'is a symlink, not a report file' });
    execFileSync('mkfifo', [join(dir, 'fifo.report.json')]);
    expect(await readReportFile(join(dir, 'fifo.report.json'))).toEqual({ reason: 'is not a regular file' });
  });

  it('follows a symlink the user named when asked', async () => {
    await writeFile(join(dir, 'r.report.json'), '{}');
    await symlink(join(dir, 'r.report.json'), join(dir, 'latest.report.json'));
    expect(await readReportFile(join(dir, 'latest.report.json'), { followSymlink: true })).toEqual({
      bytes: Buffer.from('{}'),
    });
  });
});

describe('fileDigest', () => {
  it('is sha256 of the bytes', () => {
    expect(fileDigest(Buffer.from('abc'))).toBe(
      'sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
  });
});
