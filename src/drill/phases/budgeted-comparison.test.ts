// Verification under a time budget, end to end: real restores of one backup by one drill, run after run, each
// reading the ranges the runs before it checksummed from their signed reports.
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { generateKeyPair, loadPublicKey } from '../../evidence/signing-key.ts';
import { writeMarker } from '../../markers/take-marker.ts';
import type { StoredMarker } from '../../model/marker.ts';
import { fileSource } from '../../sources/file/file-source.ts';
import { connectionUrl } from '../../testing/connection-url.ts';
import { startShopDatabase } from '../../testing/shop-database.ts';
import { readCoverageHistory } from '../../verify/coverage-history.ts';
import { verificationUnits } from '../../verify/verify-budget.ts';
import type { DrillResult } from '../drill-run.ts';
import { runDrill } from '../run-drill.ts';

let dir: string;
let keys: { privatePath: string; publicPath: string };
let marker: StoredMarker;
/** Rows in the marker's key ranges: what a full checksum reads. */
let totalRows: number;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'budgeted-verify-test-'));
  keys = generateKeyPair(join(dir, 'keys'));
  await mkdir(join(dir, 'backups'));
  await using shop = await startShopDatabase();
  // Production records every table exactly; then one value changes (same row count) before the backup: a fault
  // only the checksum of the key range holding that order line can find. order_items comes last in the marker
  // as the restored copy stores it (jsonb orders keys by length), so the first run's share leaves it out.
  marker = await writeMarker(connectionUrl(shop.environment.connectionConfig()), { forceExact: true });
  await shop.query('update order_items set quantity = quantity + 1 where order_id = 1990 and line = 1');
  await shop.dump(join(dir, 'backups', 'shop.dump'), 'custom');
  totalRows = verificationUnits(marker).reduce((sum, unit) => sum + unit.rows, 0);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/**
 * One run of the drill, with a budget of 100 s that fits `share` of the rows. The speed is given, not measured:
 * the plan is the same on every machine. `fromSettings`: the budget comes as `run`/`check --verify-budget` hands
 * it over, not from the drill's options.
 */
function budgetedRun(share: number, fromSettings = false): Promise<DrillResult> {
  return runDrill({
    name: 'budgeted shop',
    source: fileSource(join(dir, 'backups')),
    reportDir: join(dir, 'reports'),
    signingKey: keys.privatePath,
    log: () => {},
    verify: { ...(fromSettings ? {} : { budget: '100s' }), rowsPerSecond: (share * totalRows) / 100 },
    ...(fromSettings ? { settings: { verifyBudget: '100s' } } : {}),
  });
}

const itemsChecksum = (result: DrillResult) =>
  result.report.checks.find((c) => c.name === `checksum public.order_items (marker #${marker.id})`);

// A budget the whole checksum fits is compared in full: verify-budget.test.ts (no restore needed for that).
test('runs under a budget checksum a stated share each, cover every range in turn, and the run that covers the fault finds it', async () => {
  const all = verificationUnits(marker).map((unit) => unit.id);

  const runs: DrillResult[] = [];
  // At most 4 runs of half the rows: the rotation must cover everything by then. The first takes its budget from
  // the drill's options, the others as `run`/`check --verify-budget` hands it over.
  while (runs.length < 4 && (runs.at(-1)?.report.verification?.coverage[0]?.shareOverRuns ?? 0) < 1)
    runs.push(await budgetedRun(0.5, runs.length > 0));

  // The first run: a stated share, every row count, what was left out listed, and no history before it.
  const first = runs[0]!.report;
  const coverage = first.verification!.coverage[0]!;
  expect(coverage).toMatchObject({ label: `marker #${marker.id}`, mode: 'budgeted', budgetSeconds: 100, runs: 1 });
  expect(coverage.shareThisRun).toBeGreaterThan(0);
  expect(coverage.shareThisRun).toBeLessThanOrEqual(0.5);
  expect(coverage.rows).toEqual({ checked: Math.round(coverage.shareThisRun * totalRows), total: totalRows });
  expect(coverage.ranges).toEqual({ checked: coverage.covered.length, total: all.length });
  expect(first.verification!.history).toMatch(
    /^no earlier signed report of this drill .*starts from the first key range/,
  );
  for (const table of Object.keys(marker.tables))
    expect(first.checks.find((c) => c.name === `row count ${table} (marker #${marker.id})`)?.status).toBe('passed');
  // It did not checksum order_items and does not claim it: the table is listed as not verified, and every view
  // says the pass is partial.
  expect(coverage.covered.filter((id) => id.startsWith('public.order_items#'))).toEqual([]);
  expect(runs[0]!.status).toBe('passed');
  expect(itemsChecksum(runs[0]!)).toBeUndefined();
  expect(first.notVerified).toContainEqual(
    expect.objectContaining({ kind: 'table', name: 'public.order_items', reason: 'over-budget' }),
  );
  const markdown = await readFile(runs[0]!.markdownPath, 'utf8');
  expect(markdown.split('\n')[0]).toMatch(
    /^# Restore drill: budgeted shop — ✅ PASSED \(partly verified: \d+\.\d % of rows checksummed \(verification budget 1m 40s\)\)$/,
  );
  expect(markdown).toContain('## Verification budget');
  expect(markdown).toMatch(
    /key ranges left to later runs by the verification budget \(row count compared\) \(\d+\): .*public\.order_items/,
  );

  // Consecutive runs: each reads the ones before from their signed reports and goes on with ranges not yet covered.
  expect(runs.length).toBeGreaterThan(1);
  expect(runs[1]!.report.verification).toMatchObject({ budgetSeconds: 100 });
  expect(runs[1]!.report.verification!.history).toBe('the key ranges of 1 earlier signed report(s) of this drill');
  const covered = runs.map((run) => run.report.verification!.coverage[0]!.covered);
  expect([...new Set(covered.flat())].sort()).toEqual([...all].sort());
  expect(runs.at(-1)!.report.verification!.coverage[0]).toMatchObject({ shareOverRuns: 1, runs: runs.length });
  // Before every range was checksummed once, no run checksums a range with rows that an earlier run did.
  const withRows = new Set(
    verificationUnits(marker)
      .filter((u) => u.rows > 0)
      .map((u) => u.id),
  );
  covered.slice(1, -1).forEach((ids, i) =>
    expect(
      ids.filter(
        (id) =>
          withRows.has(id) &&
          covered
            .slice(0, i + 1)
            .flat()
            .includes(id),
      ),
    ).toEqual([]),
  );

  // The fault: found by exactly the run whose rotation covers its range; a budget never turns it into a pass.
  const found = runs.filter((run) => run.status === 'failed');
  expect(found).toHaveLength(1);
  const detail = itemsChecksum(found[0]!)?.detail ?? '';
  const bucket =
    /rows in hash bucket (\d+) of 16 \(by order_id, line\) differ \(\d+ rows expected and found, checksums differ\)/.exec(
      detail,
    )?.[1];
  expect(bucket, detail).toBeDefined();
  runs.forEach((run, i) =>
    expect(run.status).toBe(
      covered[i]!.some((id) => id.startsWith(`public.order_items#${bucket}@`)) ? 'failed' : 'passed',
    ),
  );

  // The history is the drill's signed reports: with another key they are not used, and the note says why.
  const other = generateKeyPair(join(dir, 'other-keys'));
  const untrusted = await readCoverageHistory({
    reportDir: join(dir, 'reports'),
    drillName: 'budgeted shop',
    publicKey: loadPublicKey(other.publicPath),
    positions: new Set(['public.orders#0']),
  });
  expect(untrusted.runs).toEqual([]);
  expect(untrusted.note).toBe(
    `no earlier signed report of this drill verified under a budget; ${runs.length} report(s) of this drill left out: their signature does not verify with this run's key: the rotation starts from the first key range`,
  );
});
