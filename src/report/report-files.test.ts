import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { compactUtc, compareReportNames, fileDigest, listReportFiles, reportSlug } from './report-files.ts';

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
    expect(names.sort(compareReportNames)).toEqual(['20261123T175226Z-a.report.json', '20261123T175226Z-a-2.report.json']);
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

describe('fileDigest', () => {
  it('is sha256 of the bytes', () => {
    expect(fileDigest(Buffer.from('abc'))).toBe(
      'sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
  });
});
