import { mkdtemp, rm, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { writeReport } from '../drill/report-writer.ts';
import { sampleReport } from '../model/sample-report.fixture.ts';
import { generateKeyPair, loadSigningKey } from '../evidence/signing-key.ts';
import { runCli } from '../testing/run-cli.ts';

let dir: string;
let publicPath: string;
const { previous: _, ...report } = sampleReport();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'verify-cli-test-'));
  publicPath = generateKeyPair(join(dir, 'keys')).publicPath;
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** A report directory with `count` signed reports an hour apart; their file names, oldest first. */
async function ledger(name: string, count: number): Promise<{ reportDir: string; files: string[] }> {
  const reportDir = join(dir, name);
  const key = loadSigningKey(join(dir, 'keys', 'signing-key.pem'));
  const files: string[] = [];
  for (let i = 0; i < count; i++) {
    const { jsonPath } = await writeReport({
      report: { ...report, runId: `run-${i}` },
      reportDir,
      key,
      now: new Date(Date.UTC(2026, 10, 1, 10 + i)),
    });
    files.push(basename(jsonPath));
  }
  return { reportDir, files };
}

describe('restore-drill verify --ledger', () => {
  test('an unbroken chain exits 0; with a report in the middle removed it exits 1 and names where the chain breaks', async () => {
    const { reportDir, files } = await ledger('removed', 3);
    const intact = await runCli(['verify', '--key', publicPath, '--ledger', reportDir]);
    expect(intact.code, intact.stderr).toBe(0);
    expect(intact.stdout).toMatch(/^valid {3}ledger .* — chain unbroken$/m);

    await unlink(join(reportDir, files[1]!)); // e.g. a failed drill someone wanted gone
    const broken = await runCli(['verify', '--key', publicPath, '--ledger', reportDir]);
    expect(broken.code).toBe(1);
    expect(broken.stdout).toMatch(new RegExp(`^INVALID ledger .* — .*${files[2]!.replace(/\./g, '\\.')}`, 'm'));
    expect(broken.stdout).toMatch(/verification FAILED/);
    expect(broken.stderr).toBe('');
  });
});
