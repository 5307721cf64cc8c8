import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { CheckResult } from '../model/report.ts';
import type { Marker } from '../model/marker.ts';
import { takeMarker } from '../markers/take-marker.ts';
import { compareWithMarker } from './compare.ts';
import { sql, startShopCluster, type ShopCluster } from './shop-cluster.testkit.ts';
import { compareWithinBudget, planRotation, verificationUnits, type BudgetedVerification } from './verify-budget.ts';

let cluster: ShopCluster;
let marker: Marker;
let totalRows: number;

beforeAll(async () => {
  cluster = await startShopCluster('verify budget');
  marker = await takeMarker(cluster.shop, { forceExact: true });
  totalRows = verificationUnits(marker).reduce((sum, unit) => sum + unit.rows, 0);
});
afterAll(async () => {
  await cluster?.stop();
});

const failed = (checks: readonly CheckResult[]) => checks.filter((c) => c.status !== 'passed').map((c) => c.name);
/** A budget that fits `share` of the rows: a fixed speed, so the plan does not depend on the machine. */
const budgetFor = (share: number) => ({ budgetSeconds: 100, rowsPerSecond: (share * totalRows) / 100 });

/** Runs one budgeted verification after another, each given the coverage of those before it, newest first. */
async function rotation(
  config: Parameters<typeof compareWithinBudget>[0],
  runs: number,
  share: number,
): Promise<BudgetedVerification[]> {
  const results: BudgetedVerification[] = [];
  for (let run = 0; run < runs; run++) {
    const history = results.map((r) => r.coverage.covered).reverse();
    results.push(await compareWithinBudget(config, marker, { label: 'manifest', ...budgetFor(share), history }));
  }
  return results;
}

describe('verificationUnits and planRotation', () => {
  test('every bucket of every checksummed table is a unit; the rows add up to the marker', () => {
    const units = verificationUnits(marker);
    expect(totalRows).toBe(Object.values(marker.tables).reduce((sum, t) => sum + t.rows, 0));
    const orders = units.filter((unit) => unit.table === 'public.orders');
    // An integer layout: its ranges and the two outside them (-1, buckets), which the marker saw empty.
    expect(orders.map((unit) => unit.bucket)).toEqual([-1, ...Array.from({ length: 16 }, (_, i) => i), 16]);
    expect(orders[0]!.rows).toBe(0);
  });

  test('never-covered ranges first, then those covered longest ago; at least one; the same inputs choose the same', () => {
    const units = verificationUnits(marker).filter((unit) => unit.rows > 0);
    const first = planRotation(units, [], 1);
    expect(first.map((unit) => unit.id)).toEqual([units[0]!.id]); // does not fit, taken anyway: progress
    const second = planRotation(units, [[units[0]!.id]], units[1]!.rows + units[2]!.rows);
    expect(second.map((unit) => unit.id)).toEqual([units[1]!.id, units[2]!.id]);
    const all = units.map((unit) => unit.id);
    // Everything covered, the first one longest ago: it comes first again.
    expect(planRotation(units, [all.slice(1), [all[0]!]], 1)[0]!.id).toBe(all[0]);
    expect(planRotation(units, [all.slice(1), [all[0]!]], 1)).toEqual(
      planRotation(units, [all.slice(1), [all[0]!]], 1),
    );
  });

  test('the rotation carries over to a later marker whose layout differs; the share over runs does not', () => {
    const units = verificationUnits(marker).filter((unit) => unit.rows > 0);
    const grown = units.map((unit) => ({ ...unit, id: unit.id.replace(/@.*/, '@other-layout') }));
    // The first unit was covered under the old layout: the new marker's rotation goes on with the second …
    expect(planRotation(grown, [[units[0]!.id]], 1)[0]!.position).toBe(units[1]!.position);
    // … and an id of the old layout is not one of the new marker's ranges.
    expect(grown.map((unit) => unit.id)).not.toContain(units[0]!.id);
  });
});

describe('compareWithinBudget', () => {
  test('a budget that fits the whole checksum verifies everything, as compareWithMarker does', async () => {
    const copy = await cluster.copy();
    const result = await compareWithinBudget(copy, marker, { label: 'manifest', ...budgetFor(1) });
    expect(result.coverage).toMatchObject({ mode: 'full', shareThisRun: 1, shareOverRuns: 1 });
    expect(result.notVerified).toEqual([]);
    expect(result.checks).toEqual(await compareWithMarker(copy, marker, { label: 'manifest' }));
  });

  test('a budget smaller than the full checksum: every row count, a stated share of the ranges, the rest listed', async () => {
    const [result] = await rotation(await cluster.copy(), 1, 0.25);
    const { coverage, checks, notVerified } = result!;
    expect(coverage.mode).toBe('budgeted');
    expect(coverage.shareThisRun).toBeGreaterThan(0);
    expect(coverage.shareThisRun).toBeLessThanOrEqual(0.25);
    const units = verificationUnits(marker);
    const covered = new Set(coverage.covered);
    expect(coverage.shareThisRun).toBe(
      units.filter((u) => covered.has(u.id)).reduce((s, u) => s + u.rows, 0) / totalRows,
    );
    expect(failed(checks)).toEqual([]);
    // Every table's row count is compared, budget or not.
    for (const table of Object.keys(marker.tables))
      expect(checks.map((c) => c.name)).toContain(`row count ${table} (manifest)`);
    // A table with ranges left out is listed with the share that was checksummed.
    const partial = [...new Set(units.filter((u) => u.rows > 0 && !covered.has(u.id)).map((u) => u.table))].sort();
    expect(notVerified.map((n) => n.name).sort()).toEqual(partial);
    expect(notVerified[0]).toMatchObject({ kind: 'table', reason: 'over-budget' });
    expect(notVerified[0]!.detail).toMatch(
      /^verification budget of 100 s: \d+\.\d % of its rows checksummed this run, \d+ key ranges \(\d+ rows\) compared by row count only/,
    );
    // The ranges left out are named, neighbours as one span.
    const detailOf = (table: string) => notVerified.find((n) => n.name === table)?.detail;
    expect(detailOf('public.orders')).toContain('compared by row count only (rows with id 1..2000); later runs');
    expect(detailOf('public.order_items')).toContain('(hash buckets 0–15 of 16 (by order_id, line))');
    expect(detailOf('public.events')).toMatch(/\(rows with id \d+\.\.3008\)/);
    // A checksummed range is named in its check's detail.
    const checksum = checks.find((c) => c.name.startsWith('checksum '))!;
    expect(checksum.detail).toMatch(/key ranges checksummed \(verification budget\): rows/);
  });

  test('consecutive runs cover every range, and say how much the last runs covered together', async () => {
    const results = await rotation(await cluster.copy(), 5, 0.25);
    const covered = new Set(results.flatMap((r) => r.coverage.covered));
    expect([...covered].sort()).toEqual(
      verificationUnits(marker)
        .map((u) => u.id)
        .sort(),
    );
    const last = results.at(-1)!.coverage;
    expect(last).toMatchObject({ runs: 5, shareOverRuns: 1 });
    // Each run's share over the runs so far only grows.
    const shares = results.map((r) => r.coverage.shareOverRuns);
    expect(shares).toEqual([...shares].sort((a, b) => a - b));
    expect(results.every((r) => failed(r.checks).length === 0)).toBe(true);
  });

  test('a fault in a range a run leaves out is found by the run that covers it; a count difference by every run', async () => {
    const copy = await cluster.copy();
    // A changed value (same row count) in orders, and one row deleted from events.
    await sql(copy, 'update orders set total = total + 0.01 where id = 1990; delete from events where id = 2999');
    const results = await rotation(copy, 5, 0.25);
    const faulty = results.map((r) => r.coverage.covered.some((id) => id.startsWith(`${bucketOf(1990)}@`)));
    expect(faulty.filter(Boolean).length).toBeGreaterThanOrEqual(1);
    expect(faulty[0]).toBe(false); // the first run does not cover it …
    results.forEach((result, run) => {
      const orders = result.checks.find((c) => c.name === 'checksum public.orders (manifest)');
      // … and does not claim it: no checksum of the range, the table listed as not verified
      if (!faulty[run]) expect(orders?.status ?? 'absent').not.toBe('failed');
      else {
        expect(orders?.status).toBe('failed');
        expect(orders?.detail).toContain('rows with id 1876..2000 differ');
      }
      if (!faulty[run]) expect(result.notVerified.map((n) => n.name)).toContain('public.orders');
      // A deleted row shows in the row count of every run, whichever ranges it checksums.
      expect(result.checks.find((c) => c.name === 'row count public.events (manifest)')).toMatchObject({
        status: 'failed',
        expected: 3000,
        actual: 2999,
      });
    });
  });

  test('without a given speed it measures one and still verifies what it claims', async () => {
    const result = await compareWithinBudget(await cluster.copy(), marker, { label: 'manifest', budgetSeconds: 3600 });
    expect(result.coverage.rowsPerSecond).toBeGreaterThan(0);
    expect(failed(result.checks)).toEqual([]);
    expect(result.coverage.shareThisRun === 1).toBe(result.notVerified.length === 0);
  });

  test('a budget of no time is refused', async () => {
    await expect(
      compareWithinBudget(await cluster.copy(), marker, { label: 'manifest', budgetSeconds: 0 }),
    ).rejects.toThrow('more than 0 seconds');
  });
});

function bucketOf(id: number): string {
  const layout = marker.tables['public.orders']!.ranges!.layout;
  if (layout.kind !== 'integer') throw new Error('orders has an integer layout');
  return `public.orders#${Math.floor((id - Number(layout.min)) / Number(layout.width))}`;
}
