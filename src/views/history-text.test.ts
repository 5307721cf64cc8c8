import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderHistoryText } from './history-text.ts';
import { loadHistory } from './history.ts';
import { monthlyRuns, newSigningKey, writeReportDirectory } from './history.testkit.ts';

const key = newSigningKey();
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'restore-drill-history-text-'));
  await writeReportDirectory(dir, key, [
    { name: 'orders', runs: monthlyRuns('2026-01', [300, 330, null, 390, 420, 450]) },
    { name: 'billing\u001b[31m', rtoTarget: null, runs: monthlyRuns('2026-05', [60, 50]) },
  ]);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('renderHistoryText', () => {
  it('lists runs per drill with restore time, RTO/RPO marks, trend and forecast, under the verdict', async () => {
    const text = renderHistoryText(await loadHistory(dir, { publicKey: key.publicKey }));
    const lines = text.split('\n');
    expect(lines.slice(0, 4)).toEqual([
      '✓ the latest run of every drill passed (2)',
      `${dir}: 8 report(s) of 2 drill(s)`,
      `signatures: 8 of 8 verified with key ${key.keyid}`,
      'ledger: ✓ chain unbroken',
    ]);
    expect(lines.slice(lines.indexOf('orders — 6 run(s), 2026-01-15 … 2026-06-15'))).toEqual([
      'orders — 6 run(s), 2026-01-15 … 2026-06-15',
      '  started (UTC)     result  restore  RTO                 RPO                signature',
      '  2026-01-15 03:00  passed  5m 00s   ✓ 5m 24s / 15m 00s  ✓ 1h 00m / 8h 00m  verified',
      '  2026-02-15 03:00  passed  5m 30s   ✓ 5m 54s / 15m 00s  ✓ 1h 00m / 8h 00m  verified',
      '  2026-03-15 03:00  failed  —        – — / 15m 00s       ✓ 1h 00m / 8h 00m  verified',
      '      ✗ error in restore: pg_restore exited with code 1: out of disk space',
      '      ✗ checksum: expected 9f2c, got 77aa — range id 1000..1999 differs | 3 rows',
      '  2026-04-15 03:00  passed  6m 30s   ✓ 6m 54s / 15m 00s  ✓ 1h 00m / 8h 00m  verified',
      '  2026-05-15 03:00  passed  7m 00s   ✓ 7m 24s / 15m 00s  ✓ 1h 00m / 8h 00m  verified',
      '  2026-06-15 03:00  passed  7m 30s   ✓ 7m 54s / 15m 00s  ✓ 1h 00m / 8h 00m  verified',
      '  trend:    restore time ↑ 36% from 2026-02 to 2026-06 (5m 30s → 7m 30s)',
      expect.stringMatching(
        /^ {2}forecast: restore time grows 30s\/month \(\+6\.7%\/month over 5 months\); at this rate the RTO of 15m 00s is reached in 2027-\d\d \(in \d+ months\)$/,
      ),
      '',
    ]);
    expect(text).toContain(
      '  forecast: not enough history for a forecast: restore times from 2 months, at least 3 needed',
    );
  });

  it('prints control characters from reports as "?", and says when signatures were not checked', async () => {
    const text = renderHistoryText(await loadHistory(dir));
    expect(text).not.toContain('\u001b');
    expect(text).toContain('billing?[31m — 2 run(s), 2026-05-15 … 2026-06-15');
    expect(text.split('\n')[2]).toBe('signatures: not checked (pass --key PUB.pem to check them and the ledger)');
    expect(text).toContain('  2026-06-15 03:00  passed  50s      – 1m 14s  ✓ 1h 00m / 8h 00m  not checked\n');
  });

  it('leads with the drills whose latest run failed and why, and marks demo-key reports', async () => {
    const failing = await mkdtemp(join(tmpdir(), 'restore-drill-history-text-failing-'));
    try {
      const demoKey = { ...newSigningKey(), demo: true };
      await writeReportDirectory(failing, demoKey, [{ name: 'orders', runs: monthlyRuns('2026-01', [300, null]) }]);
      const lines = renderHistoryText(await loadHistory(failing, { publicKey: demoKey.publicKey })).split('\n');
      expect(lines.slice(0, 6)).toEqual([
        '✗ 1 of 1 drill(s): the latest run did not pass',
        '  orders — FAILED 2026-02-15 03:00',
        '    ✗ error in restore: pg_restore exited with code 1: out of disk space',
        '    ✗ checksum: expected 9f2c, got 77aa — range id 1000..1999 differs | 3 rows',
        '⚠ 2 report(s) signed with a demo key — not evidence',
        `${failing}: 2 report(s) of 1 drill(s)`,
      ]);
      expect(lines.find((l) => l.startsWith('  2026-01-15'))).toMatch(/ verified \(demo key — not evidence\)$/);
    } finally {
      await rm(failing, { recursive: true, force: true });
    }
  });
});
