import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderHistoryText } from '../views/history-text.ts';
import { loadHistory } from '../views/history.ts';
import { monthlyRuns, newSigningKey, writeReportDirectory } from '../views/history.testkit.ts';
import { hasStackTrace, runCli, type CliOutcome } from '../testing/run-cli.ts';

// What is printed is tested in views/history-text.test.ts; here, the command as a user runs it. The
// invocations start together because each one pays the CLI's start-up.
const key = newSigningKey();
let dir: string;
let reports: string;
let broken: string;
let brokenNames: string[];
let out: Record<'listing' | 'broken' | 'missing' | 'empty', CliOutcome>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'restore-drill-history-cli-'));
  reports = join(dir, 'reports');
  broken = join(dir, 'broken');
  const pub = join(dir, 'signing-key.pub.pem');
  await writeFile(pub, key.publicKey.export({ type: 'spki', format: 'pem' }));
  await writeReportDirectory(reports, key, [{ name: 'orders', runs: monthlyRuns('2026-01', [300, 330, null, 390]) }]);
  brokenNames = await writeReportDirectory(broken, key, [
    { name: 'orders', runs: monthlyRuns('2026-01', [300, null, 390]) },
  ]);
  await rm(join(broken, brokenNames[1]!));
  await mkdir(join(dir, 'empty'));
  const [listing, brokenOut, missing, empty] = await Promise.all([
    runCli(['history', reports, '--key', pub]),
    runCli(['history', broken, '--key', pub, '--html', join(dir, 'audit.html')]),
    runCli(['history', join(dir, 'nope')]),
    runCli(['history', join(dir, 'empty')]),
  ]);
  out = { listing: listing, broken: brokenOut, missing: missing, empty: empty };
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('restore-drill history', () => {
  it('prints the history of a report directory, checked against the key, and exits 0', async () => {
    expect(out.listing.stderr).toBe('');
    expect(out.listing.code).toBe(0);
    expect(out.listing.stdout).toBe(renderHistoryText(await loadHistory(reports, { publicKey: key.publicKey })));
    expect(out.listing.stdout).toContain('ledger: ✓ chain unbroken');
  });

  it('names a broken ledger, still exits 0, and writes the index page with --html', async () => {
    expect(out.broken.code).toBe(0);
    expect(out.broken.stdout).toMatch(
      new RegExp(`ledger: ✗ BROKEN — ${brokenNames[2]}: its previous report sha256:[0-9a-f]{64} is not in `),
    );
    expect(out.broken.stdout).toContain(`wrote ${join(dir, 'audit.html')}\n`);
    const page = await readFile(join(dir, 'audit.html'), 'utf8');
    expect(page).toContain('Ledger chain BROKEN');
    expect(page).toContain('data-chart="restore"');
  });

  it('refuses a missing or empty directory with one line and exit 2', () => {
    expect(out.missing.code).toBe(2);
    expect(out.missing.stderr).toBe(
      `restore-drill: report directory not found: ${join(dir, 'nope')} — pass the directory the drills wrote their reports to (--report-dir; default reports/)\n`,
    );
    expect(out.empty.code).toBe(2);
    expect(out.empty.stderr).toBe(
      `restore-drill: no reports in ${join(dir, 'empty')} — pass the directory the drills wrote their .report.json files to\n`,
    );
    expect(hasStackTrace(out.missing.stderr + out.empty.stderr)).toBe(false);
  });
});
