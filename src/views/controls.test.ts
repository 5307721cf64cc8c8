import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildControlMatrix,
  isValidControlId,
  NO_CONTROL,
  renderControlsJson,
  renderControlsMarkdown,
} from './controls.ts';
import { loadHistory } from './history.ts';
import { monthlyRuns, newSigningKey, pastReport, writeReportDirectory } from './history.testkit.ts';
import { writeReport } from '../drill/report-writer.ts';

const key = newSigningKey();
let dir: string;
let names: string[];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'restore-drill-controls-'));
  names = await writeReportDirectory(dir, key, [
    { name: 'orders', controls: ['SOC2-A1.2', 'ISO27001-A.8.13'], runs: monthlyRuns('2026-01', [100, null, 120]) },
    {
      name: 'billing | ledger',
      controls: ['SOC2-A1.10', 'SOC2-A1.2', 'DORA-Art.12'],
      runs: monthlyRuns('2026-02', [50]),
    },
    { name: 'scratch', runs: monthlyRuns('2026-03', [10]) },
    { name: 'sloppy', controls: ['', 'SOC 2 A1.2'], runs: monthlyRuns('2026-04', [10]) },
  ]);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('isValidControlId', () => {
  it('accepts any non-empty id without whitespace', () => {
    for (const id of ['SOC2-A1.2', 'ISO27001-A.8.13', 'DORA-Art.12', 'internal:BCP-7'])
      expect(isValidControlId(id)).toBe(true);
    for (const id of ['', ' ', 'SOC 2', 'A1.2\n', '\tx']) expect(isValidControlId(id)).toBe(false);
  });
});

describe('buildControlMatrix', () => {
  it('lists every run under each control it evidences, controls in natural order, undeclared last', async () => {
    const matrix = buildControlMatrix(await loadHistory(dir, { publicKey: key.publicKey }));
    expect(matrix.controls.map((c) => c.control)).toEqual([
      'DORA-Art.12',
      'ISO27001-A.8.13',
      'SOC 2 A1.2',
      'SOC2-A1.2',
      'SOC2-A1.10',
      NO_CONTROL,
    ]);
    const soc = matrix.controls.find((c) => c.control === 'SOC2-A1.2')!;
    expect(soc).toMatchObject({ declared: true, runs: 4, passed: 3, failed: 1, latest: { status: 'passed' } });
    expect(soc.evidence.map((e) => [e.drill, e.startedAt.slice(0, 7), e.status, e.restoreSeconds])).toEqual([
      ['orders', '2026-01', 'passed', 100],
      ['orders', '2026-02', 'failed', null],
      ['billing | ledger', '2026-02', 'passed', 50],
      ['orders', '2026-03', 'passed', 120],
    ]);
    expect(soc.evidence[0]).toMatchObject({
      file: names[0],
      rto: { targetSeconds: 900, actualSeconds: 123.5, met: true },
      rpo: { targetSeconds: 28800, actualSeconds: 3600, met: true },
      signature: { state: 'verified', keyid: key.keyid },
      ledger: { state: 'linked' },
    });
    const undeclared = matrix.controls.at(-1)!;
    expect(undeclared).toMatchObject({ declared: false, runs: 1 });
    expect(undeclared.evidence[0]!.drill).toBe('scratch');
    expect(matrix).toMatchObject({
      schema: 'restore-drill.controls/v1',
      directory: dir,
      keyid: key.keyid,
      reports: 6,
      ledger: { valid: true },
    });
    expect(matrix.warnings).toEqual([
      `${names[5]}: an empty control id was ignored`,
      `${names[5]}: control id "SOC 2 A1.2" contains whitespace`,
    ]);
  });

  it('marks unchecked signatures and ledger without a key, and a broken ledger at the file where it breaks', async () => {
    const unchecked = buildControlMatrix(await loadHistory(dir));
    expect(unchecked.keyid).toBeNull();
    expect(unchecked.ledger).toBeNull();
    expect(unchecked.controls[0]!.evidence[0]).toMatchObject({
      signature: { state: 'unchecked', keyid: key.keyid },
      ledger: { state: 'unchecked' },
    });

    const copy = await mkdtemp(join(tmpdir(), 'restore-drill-controls-broken-'));
    try {
      const copied = await writeReportDirectory(copy, key, [
        { name: 'orders', controls: ['SOC2-A1.2'], runs: monthlyRuns('2026-01', [100, null, 120]) },
      ]);
      await rm(join(copy, copied[1]!));
      const matrix = buildControlMatrix(await loadHistory(copy, { publicKey: key.publicKey }));
      const evidence = matrix.controls[0]!.evidence;
      expect(matrix.ledger?.valid).toBe(false);
      expect(evidence.map((e) => e.ledger.state)).toEqual(['linked', 'broken']);
      expect(evidence[1]!.ledger).toMatchObject({
        problem: expect.stringContaining('a report was deleted or edited?'),
      });
    } finally {
      await rm(copy, { recursive: true, force: true });
    }
  });

  it('warns about files that are not reports rather than skipping them silently', async () => {
    const junk = join(dir, '20990101T000000Z-junk.report.json');
    await writeFile(junk, 'not json');
    try {
      const matrix = buildControlMatrix(await loadHistory(dir));
      expect(matrix.warnings[0]).toBe(
        '20990101T000000Z-junk.report.json: not a readable report (not a DSSE envelope: not JSON); it evidences nothing',
      );
    } finally {
      await rm(junk);
    }
  });
});

describe('renderControlsMarkdown / renderControlsJson', () => {
  it('renders a summary table and one evidence table per control, escaping cell text', async () => {
    const markdown = renderControlsMarkdown(buildControlMatrix(await loadHistory(dir, { publicKey: key.publicKey })));
    expect(markdown).toContain(`Signatures checked against key \`${key.keyid}\`: 6 of 6 verified.`);
    expect(markdown).toContain('Ledger: ✅ chain unbroken');
    expect(markdown).toContain('| SOC2-A1.2 | 4 | 3 | 1 | 2026-03-15 03:00 | ✅ passed |');
    expect(markdown).toContain('## (no control declared)');
    expect(markdown).toContain(
      `| orders | 2026-02-15 03:00 | ❌ failed: error in restore: pg_restore exited with code 1: out of disk space; checksum: expected 9f2c, got 77aa — range id 1000..1999 differs \\| 3 rows | — | — / 15m 00s | ✅ 1h 00m / 8h 00m | ✅ verified (${key.keyid.slice(0, 23)}…) | ✅ linked | \`${names[1]}\` |`,
    );
    // A drill name with a pipe stays in its cell.
    expect(markdown).toContain('| billing \\| ledger | 2026-02-15 03:00 |');
    expect(markdown).toContain('## Warnings');
  });

  it('renders JSON that parses back to the matrix', async () => {
    const matrix = buildControlMatrix(await loadHistory(dir));
    expect(JSON.parse(renderControlsJson(matrix))).toEqual(JSON.parse(JSON.stringify(matrix)));
    expect(renderControlsMarkdown(matrix)).toContain('Signatures and ledger **not checked**');
  });

  it('counts no demo-key run as evidence and leads with the controls whose latest evidence failed, and why', async () => {
    const demoDir = await mkdtemp(join(tmpdir(), 'restore-drill-controls-demo-'));
    try {
      const failing = { name: 'orders', controls: ['SOC2-A1.2'], runs: monthlyRuns('2026-01', [100, null]) };
      await writeReportDirectory(demoDir, key, [failing]);
      await writeReportDirectory(demoDir, { ...key, demo: true }, [
        { name: 'demo', controls: ['SOC2-A1.2'], runs: monthlyRuns('2026-03', [10]) },
      ]);
      const matrix = buildControlMatrix(await loadHistory(demoDir, { publicKey: key.publicKey }));
      expect(matrix.controls[0]).toMatchObject({
        control: 'SOC2-A1.2',
        runs: 2,
        passed: 1,
        failed: 1,
        demoKeyRuns: 1,
        latest: { status: 'failed' },
      });
      const markdown = renderControlsMarkdown(matrix);
      expect(markdown.split('\n').slice(0, 7)).toEqual([
        '# Compliance control matrix',
        '',
        '**❌ 1 control(s) whose latest evidence did not pass:**',
        '',
        '- SOC2-A1.2 — orders, 2026-02-15 03:00: ❌ failed',
        '  - error in restore: pg_restore exited with code 1: out of disk space',
        '  - checksum: expected 9f2c, got 77aa — range id 1000..1999 differs \\| 3 rows',
      ]);
      expect(markdown).toContain(
        '⚠️ 1 report(s) signed with a demo key — not evidence: listed below, counted nowhere.',
      );
      expect(markdown).toContain('| demo | 2026-03-15 03:00 | ⚠️ demo key — not evidence — ✅ passed |');
    } finally {
      await rm(demoDir, { recursive: true, force: true });
    }
  });
});

describe('what the evidence did not verify', () => {
  it('is listed per control, runs that say the same grouped; a report from before the list says "not recorded"', async () => {
    const notVerifiedDir = await mkdtemp(join(tmpdir(), 'restore-drill-controls-nv-'));
    try {
      const drill = { name: 'orders', controls: ['SOC2-A1.2'], runs: [] };
      const notVerified = [
        { kind: 'table' as const, name: 'public.audit_log', reason: 'no-marker' as const, detail: 'no marker' },
      ];
      for (const [i, at] of ['2026-05-15T03:00:00Z', '2026-06-15T03:00:00Z', '2026-07-15T03:00:00Z'].entries()) {
        const report = { ...pastReport(drill, { at, restoreSeconds: 100 }), ...(i > 0 ? { notVerified } : {}) };
        await writeReport({ report, reportDir: notVerifiedDir, key, now: new Date(report.finishedAt) });
      }
      const matrix = buildControlMatrix(await loadHistory(notVerifiedDir, { publicKey: key.publicKey }));
      expect(matrix.controls[0]!.evidence.map((e) => e.notVerified)).toEqual([
        ['not recorded (this report predates the list of what was not verified)'],
        ['tables without a marker (1): public.audit_log'],
        ['tables without a marker (1): public.audit_log'],
      ]);
      const markdown = renderControlsMarkdown(matrix);
      expect(markdown).toMatch(
        /Not verified by these runs:\n\n- orders \(1 run, latest `[^`]+`\): not recorded .*\n- orders \(2 runs, latest `[^`]+`\): tables without a marker \(1\): public.audit_log\n/,
      );
    } finally {
      await rm(notVerifiedDir, { recursive: true, force: true });
    }
  });
});
