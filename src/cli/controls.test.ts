import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { monthlyRuns, newSigningKey, writeReportDirectory } from '../views/history.testkit.ts';
import { runCli, type CliOutcome } from '../testing/run-cli.ts';

// The matrix itself is tested in views/controls.test.ts; here, the command as a user runs it. The
// invocations start together because each one pays the CLI's start-up.
const key = newSigningKey();
let dir: string;
let out: Record<'markdown' | 'json' | 'badFormat', CliOutcome>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'restore-drill-controls-cli-'));
  const reports = join(dir, 'reports');
  const pub = join(dir, 'signing-key.pub.pem');
  await writeFile(pub, key.publicKey.export({ type: 'spki', format: 'pem' }));
  await writeReportDirectory(reports, key, [
    { name: 'orders', controls: ['SOC2-A1.2', 'ISO27001-A.8.13'], runs: monthlyRuns('2026-01', [300, null, 320]) },
    { name: 'scratch', runs: monthlyRuns('2026-02', [10]) },
  ]);
  const [markdown, json, badFormat] = await Promise.all([
    runCli(['controls', reports, '--key', pub]),
    runCli(['controls', reports, '--format', 'json', '--out', join(dir, 'controls.json')]),
    runCli(['controls', reports, '--format', 'yaml']),
  ]);
  out = { markdown: markdown, json: json, badFormat: badFormat };
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('restore-drill controls', () => {
  it('prints the matrix as Markdown, with signatures and ledger checked against the key', () => {
    expect(out.markdown.stderr).toBe('');
    expect(out.markdown.code).toBe(0);
    expect(out.markdown.stdout).toMatch(/^# Compliance control matrix\n/);
    expect(out.markdown.stdout).toContain(`Signatures checked against key \`${key.keyid}\`: 4 of 4 verified.`);
    expect(out.markdown.stdout).toContain('| ISO27001-A.8.13 | 3 | 2 | 1 | 2026-03-15 03:00 | ✅ passed |');
    expect(out.markdown.stdout).toContain('| SOC2-A1.2 | 3 | 2 | 1 | 2026-03-15 03:00 | ✅ passed |');
    expect(out.markdown.stdout).toContain('| (no control declared) | 1 | 1 | 0 | 2026-02-15 03:00 | ✅ passed |');
    expect(out.markdown.stdout.match(/^## /gm)).toHaveLength(3);
  });

  it('writes JSON for a GRC tool with --format json --out', async () => {
    const file = join(dir, 'controls.json');
    expect(out.json.code).toBe(0);
    expect(out.json.stdout).toBe(`wrote ${file}: 3 control(s) from 4 report(s)\n`);
    const matrix = JSON.parse(await readFile(file, 'utf8'));
    expect(matrix).toMatchObject({ schema: 'restore-drill.controls/v1', keyid: null, ledger: null, reports: 4 });
    expect(matrix.controls.map((c: { control: string }) => c.control)).toEqual([
      'ISO27001-A.8.13',
      'SOC2-A1.2',
      '(no control declared)',
    ]);
    expect(matrix.controls[1].evidence[1]).toMatchObject({
      drill: 'orders',
      status: 'failed',
      restoreSeconds: null,
      signature: { state: 'unchecked', keyid: key.keyid },
      ledger: { state: 'unchecked' },
    });
  });

  it('refuses an unknown format with exit 2', () => {
    expect(out.badFormat.code).toBe(2);
    expect(out.badFormat.stderr).toMatch(/^restore-drill: option '--format <format>' argument 'yaml' is invalid/);
  });
});
