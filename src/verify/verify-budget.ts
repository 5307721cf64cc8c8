// Verification that fits a time budget: on a database whose full checksum does not fit the drill's window,
// every table's row count is compared and as many key ranges checksummed as the budget allows, chosen so that
// consecutive runs cover every range. A budget only ever narrows what is checksummed, and says so: it never
// turns a difference it found into a pass, and what it left out is listed as not verified.
import type pg from 'pg';
import type { BudgetCoverage, CheckResult, NotVerified } from '../model/report.ts';
import type { Marker, QualifiedName, RangeLayout } from '../model/marker.ts';
import { CHECKSUM_ALGORITHM } from '../markers/checksum-sql.ts';
import { compareWithMarker, describeRange, type CompareOptions } from './compare.ts';

/** One key range of one table: the unit a budget checksums or leaves for a later run. */
export interface VerificationUnit {
  /**
   * `<table>#<bucket>@<layout>`, as recorded in a report's coverage: the layout (an integer layout's start,
   * width and count; a hash layout's count) is part of it, since a later marker of a grown table puts other
   * keys in the same bucket number.
   */
  readonly id: string;
  /** `<table>#<bucket>`: the place in the rotation, which carries over from one marker's layout to the next. */
  readonly position: string;
  readonly table: QualifiedName;
  readonly bucket: number;
  /** Rows the marker recorded in it: its estimated cost. */
  readonly rows: number;
}

/**
 * The key ranges of a marker that a budget can choose from: every bucket of every table with a portable
 * checksum and key ranges (an integer layout also has its two out-of-range buckets, -1 and `buckets`, which
 * hold no rows unless rows appeared outside the marker's keys).
 *
 * @example
 * const units = verificationUnits(manifest); // [{ id: 'public.orders#-1', … }, { id: 'public.orders#0', rows: 125, … }, …]
 */
export function verificationUnits(marker: Marker): VerificationUnit[] {
  const units: VerificationUnit[] = [];
  for (const [table, entry] of Object.entries(marker.tables)) {
    if (
      !entry.ranges ||
      entry.mode === 'count' ||
      entry.algorithm !== CHECKSUM_ALGORITHM ||
      entry.checksum === undefined
    )
      continue;
    const { layout, sums } = entry.ranges;
    const rows = new Map(sums.map((sum) => [sum.bucket, sum.rows]));
    const [first, last] = layout.kind === 'integer' ? [-1, layout.buckets] : [0, layout.buckets - 1];
    const key = layout.kind === 'integer' ? `${layout.min}+${layout.width}x${layout.buckets}` : `hash${layout.buckets}`;
    for (let bucket = first; bucket <= last; bucket++) {
      units.push({
        id: `${table}#${bucket}@${key}`,
        position: `${table}#${bucket}`,
        table,
        bucket,
        rows: rows.get(bucket) ?? 0,
      });
    }
  }
  return units;
}

/**
 * The units to checksum this run: those never covered by the runs in `history` (newest first) before those
 * covered longest ago, in the marker's order among equals, taken while their rows fit `capacityRows`. It stops
 * at the first one that does not fit (so a large range is never passed over for ever) but always takes at least
 * one, and always takes the empty ones (they cost an index lookup). Pure: the same inputs choose the same units.
 *
 * @example
 * const chosen = planRotation(units, [previousReport.coverage.covered], 500_000);
 */
export function planRotation(
  units: readonly VerificationUnit[],
  history: ReadonlyArray<readonly string[]>,
  capacityRows: number,
): VerificationUnit[] {
  // By position, whatever layout an earlier marker had: a grown table's high buckets still get their turn.
  const lastCovered = new Map<string, number>();
  history.forEach((covered, age) =>
    covered.forEach((id) => lastCovered.has(positionOf(id)) || lastCovered.set(positionOf(id), age)),
  );
  // Never covered: oldest of all. Array.prototype.sort is stable, so equals keep the marker's order.
  const age = (unit: VerificationUnit) => lastCovered.get(unit.position) ?? Infinity;
  const order = [...units].sort((a, b) => age(b) - age(a));
  const chosen: VerificationUnit[] = units.filter((unit) => unit.rows === 0);
  let rows = 0;
  for (const unit of order) {
    if (unit.rows === 0) continue;
    if (rows > 0 && rows + unit.rows > capacityRows) break;
    chosen.push(unit);
    rows += unit.rows;
  }
  return chosen;
}

/** Options of {@link compareWithinBudget}. */
export interface VerifyBudgetOptions extends Omit<CompareOptions, 'onlyRanges'> {
  /** How long the checksums may take, in seconds (e.g. from `verify: { budget: '30m' }`). */
  readonly budgetSeconds: number;
  /** Per earlier run of the same drill, newest first: the units it covered ({@link BudgetCoverage.covered}). */
  readonly history?: ReadonlyArray<readonly string[]>;
  /**
   * Rows per second of the portable range checksum on this machine. Measured when absent, by checksumming the
   * marker's largest range once before planning, less the table's fixed costs. The budget bounds the range
   * checksums: every table's row count and catalog reads, and this measurement, come on top of it.
   */
  readonly rowsPerSecond?: number;
}

/** The checks, what was left out, and what share was covered. */
export interface BudgetedVerification {
  readonly checks: CheckResult[];
  readonly notVerified: NotVerified[];
  readonly coverage: BudgetCoverage;
}

/**
 * Compares a restored database with a marker within a time budget. When the marker's rows fit the budget at
 * the (given or measured) speed, this is {@link compareWithMarker}: everything is verified. Otherwise every
 * table's row count is compared, the key ranges {@link planRotation} chooses are checksummed range by range, and
 * each table with ranges left out is listed in `notVerified` with the share that was checksummed. A difference in
 * a checksummed range fails its check as in a full comparison; one in a range left out is found by the run whose
 * rotation covers it.
 *
 * @example
 * const { checks, notVerified, coverage } = await compareWithinBudget(env.connectionConfig(), manifest, {
 *   label: 'manifest', budgetSeconds: 1800, history: previousCoverages.map((c) => c.covered),
 * });
 */
export async function compareWithinBudget(
  config: pg.ClientConfig,
  marker: Marker,
  options: VerifyBudgetOptions,
): Promise<BudgetedVerification> {
  const { budgetSeconds, history = [], rowsPerSecond: given, ...compare } = options;
  if (!(budgetSeconds > 0))
    throw new Error(`the verification budget must be more than 0 seconds, got ${budgetSeconds}`);
  const units = verificationUnits(marker);
  const totalRows = units.reduce((sum, unit) => sum + unit.rows, 0);
  const rowsPerSecond = given ?? (await measureSpeed(config, marker, units, compare.label));
  const counted = (covered: readonly string[]) => {
    const ids = new Set(covered);
    const checked = units.filter((unit) => ids.has(unit.id));
    return {
      ranges: { checked: checked.length, total: units.length },
      rows: { checked: checked.reduce((sum, unit) => sum + unit.rows, 0), total: totalRows },
    };
  };
  const share = (covered: Iterable<string>) => {
    const ids = new Set(covered);
    return totalRows === 0 ? 1 : units.reduce((sum, unit) => sum + (ids.has(unit.id) ? unit.rows : 0), 0) / totalRows;
  };
  if (totalRows <= budgetSeconds * rowsPerSecond) {
    const checks = await compareWithMarker(config, marker, compare);
    const covered = units.map((unit) => unit.id);
    return {
      checks,
      notVerified: [],
      coverage: {
        label: compare.label,
        mode: 'full',
        budgetSeconds,
        rowsPerSecond: reported(rowsPerSecond),
        covered,
        ...counted(covered),
        shareThisRun: 1,
        shareOverRuns: 1,
        runs: history.length + 1,
      },
    };
  }
  const chosen = planRotation(units, history, budgetSeconds * rowsPerSecond);
  const onlyRanges = new Map<QualifiedName, number[]>();
  for (const unit of chosen) onlyRanges.set(unit.table, [...(onlyRanges.get(unit.table) ?? []), unit.bucket]);
  const checks = await compareWithMarker(config, marker, { ...compare, onlyRanges });
  const covered = chosen.map((unit) => unit.id);
  const shareThisRun = share(covered);
  const notVerified = tablesLeftOut(marker, units, new Set(covered), budgetSeconds);
  const coverage: BudgetCoverage = {
    label: compare.label,
    mode: 'budgeted',
    budgetSeconds,
    rowsPerSecond: reported(rowsPerSecond),
    covered,
    ...counted(covered),
    shareThisRun,
    shareOverRuns: share([...covered, ...history.flat()]),
    runs: history.length + 1,
  };
  return { checks, notVerified, coverage };
}

/** Per table with a range left out: what share of its rows was checksummed, as a not-verified line. */
function tablesLeftOut(
  marker: Marker,
  units: readonly VerificationUnit[],
  covered: ReadonlySet<string>,
  budgetSeconds: number,
): NotVerified[] {
  const byTable = new Map<QualifiedName, VerificationUnit[]>();
  for (const unit of units) byTable.set(unit.table, [...(byTable.get(unit.table) ?? []), unit]);
  const entries: NotVerified[] = [];
  for (const [table, tableUnits] of byTable) {
    const left = tableUnits.filter((unit) => !covered.has(unit.id) && unit.rows > 0);
    if (left.length === 0) continue;
    const rows = tableUnits.reduce((sum, unit) => sum + unit.rows, 0);
    const checked = tableUnits.filter((unit) => covered.has(unit.id)).reduce((sum, unit) => sum + unit.rows, 0);
    entries.push({
      kind: 'table',
      name: table,
      reason: 'over-budget',
      detail:
        `verification budget of ${budgetSeconds} s: ${percent(checked / rows)} of its rows checksummed this run, ${left.length} key ranges ` +
        `(${rows - checked} rows) compared by row count only (${rangesText(
          marker.tables[table]!.ranges!.layout,
          left.map((unit) => unit.bucket),
        )}); ` +
        'later runs checksum them in turn',
    });
  }
  return entries;
}

/** How many spans of neighbouring key ranges a not-verified line names before it says "and N more". */
const MAX_SPANS = 5;

/**
 * Key ranges in words, neighbouring buckets as one span: `rows with id 1001..2000`, or
 * `hash buckets 3–5, 8 of 16 (by order_id, line)`.
 */
function rangesText(layout: RangeLayout, buckets: readonly number[]): string {
  // The buckets outside an integer layout's keys (below and above) are named on their own, as a mismatch names them.
  const inside = (bucket: number) => bucket >= 0 && bucket < layout.buckets;
  const spans: Array<[number, number]> = [];
  for (const bucket of [...buckets].sort((a, b) => a - b)) {
    const last = spans.at(-1);
    if (last && bucket === last[1] + 1 && inside(bucket) && inside(last[1])) last[1] = bucket;
    else spans.push([bucket, bucket]);
  }
  const more = spans.length > MAX_SPANS ? `, and ${spans.length - MAX_SPANS} more` : '';
  const shown = spans.slice(0, MAX_SPANS);
  if (layout.kind === 'hash') {
    const list = shown.map(([from, to]) => (from === to ? `${from}` : `${from}–${to}`)).join(', ');
    return `hash buckets ${list}${more} of ${layout.buckets} (by ${layout.columns ? layout.columns.join(', ') : 'whole row'})`;
  }
  const min = BigInt(layout.min);
  const width = BigInt(layout.width);
  const span = ([from, to]: [number, number]) =>
    inside(from)
      ? `${layout.column} ${min + BigInt(from) * width}..${min + BigInt(to + 1) * width - 1n}`
      : describeRange(layout, from).replace(/^rows with /, '');
  return `rows with ${shown.map(span).join(', ')}${more}`;
}

/**
 * The portable range checksum's speed, from the marker's largest range (compared safely, as any range is):
 * the same table is compared twice, without and with that range, so the table's fixed costs (connecting,
 * finding it, reading its column types, counting all its rows) are taken out. When noise makes the difference
 * vanish, the whole second time is used: slower, so the plan errs short.
 */
async function measureSpeed(
  config: pg.ClientConfig,
  marker: Marker,
  units: readonly VerificationUnit[],
  label: string,
): Promise<number> {
  const largest = units.reduce<VerificationUnit | undefined>(
    (best, unit) => (unit.rows > (best?.rows ?? 0) ? unit : best),
    undefined,
  );
  if (!largest) return Infinity; // no rows to checksum: any budget fits
  const one: Marker = { ...marker, tables: { [largest.table]: marker.tables[largest.table]! } };
  const time = async (buckets: number[]) => {
    const started = performance.now();
    await compareWithMarker(config, one, { label, poolSize: 1, onlyRanges: new Map([[largest.table, buckets]]) });
    return (performance.now() - started) / 1000;
  };
  const fixed = await time([]);
  const withRange = await time([largest.bucket]);
  const seconds = withRange - fixed > 0.001 ? withRange - fixed : withRange;
  return largest.rows / Math.max(seconds, 0.001);
}

/** A speed as the report records it: whole rows per second; null when there were no rows to measure it on. */
function reported(rowsPerSecond: number): number | null {
  return Number.isFinite(rowsPerSecond) ? Math.round(rowsPerSecond) : null;
}

function positionOf(id: string): string {
  const at = id.lastIndexOf('@');
  return at < 0 ? id : id.slice(0, at);
}

function percent(share: number): string {
  return `${(Math.floor(share * 1000) / 10).toFixed(1)} %`;
}
