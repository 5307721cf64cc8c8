import type pg from 'pg';
import type { CheckResult } from '../report/report-model.ts';
import { CHECKSUM_ALGORITHM, computeRangeSums, countRows, hashLayout, parseQualifiedName, type RowBound, type TableRef } from './checksum-sql.ts';
import { defaultPoolSize, openConnectionPool } from './connection-pool.ts';
import type { Marker, QualifiedName, RangeLayout, RangeSum, TableMarker } from './marker-model.ts';

/** Options of {@link compareWithMarker}. */
export interface CompareOptions {
  /** Names the marker in every check name: `manifest` or `marker #<id>`. */
  readonly label: string;
  /** Connections comparing tables in parallel; default min(4, CPU cores). */
  readonly poolSize?: number;
}

/** How many differing ranges a check's detail names before it says "and N more". */
const MAX_RANGES_IN_DETAIL = 5;

/**
 * Compares a restored database with a marker. Per table of the marker, in the marker's order:
 * - `table exists <table> (<label>)`;
 * - `row count <table> (<label>)`: exact for `exact` and `append-only` (rows up to the bound), within the
 *   tolerance for `count`;
 * - `checksum <table> (<label>)` for `exact` and `append-only`, computed with the marker's own key-range
 *   layout, so a mismatch names the ranges that differ.
 * A table that is missing gets its other checks `skipped`; a table that cannot be read (e.g. its key column
 * is gone) gets them `failed` with the database's error. Tables are compared in parallel on a small pool of
 * read-only connections with pinned settings. Never throws for a difference: it is data in the result.
 *
 * @example
 * const checks = await compareWithMarker(env.connectionConfig(), manifest, { label: 'manifest' });
 */
export async function compareWithMarker(config: pg.ClientConfig, marker: Marker, options: CompareOptions): Promise<CheckResult[]> {
  const entries = Object.entries(marker.tables);
  if (entries.length === 0) return [];
  await using pool = await openConnectionPool(config, { snapshot: 'none', size: Math.min(options.poolSize ?? defaultPoolSize(), entries.length) });
  const found = await findTables(pool.leader, entries.map(([name]) => name));
  const perTable = await pool.map(entries, (client, [name, table]) => compareTable(client, name, table, found.get(name), options.label));
  return perTable.flat();
}

async function findTables(client: pg.ClientBase, names: QualifiedName[]): Promise<Map<QualifiedName, TableRef>> {
  const refs = names.map(parseQualifiedName);
  const result = await client.query<{ schema: string; name: string; partitioned: boolean }>(
    `select n.nspname as schema, c.relname as name, c.relkind = 'p' as partitioned
     from pg_class c join pg_namespace n on n.oid = c.relnamespace
     where c.relkind in ('r', 'p') and (n.nspname, c.relname) in (select * from unnest($1::text[], $2::text[]))`,
    [refs.map((ref) => ref.schema), refs.map((ref) => ref.name)],
  );
  return new Map(result.rows.map((row) => [`${row.schema}.${row.name}`, row]));
}

async function compareTable(
  client: pg.ClientBase,
  name: QualifiedName,
  marker: TableMarker,
  table: TableRef | undefined,
  label: string,
): Promise<CheckResult[]> {
  const checkName = (what: string) => `${what} ${name} (${label})`;
  const exists: CheckResult = table
    ? { name: checkName('table exists'), status: 'passed', expected: true, actual: true, table: name }
    : { name: checkName('table exists'), status: 'failed', expected: true, actual: false, table: name, detail: `${name} is not in the restored database` };
  const hasChecksum = marker.mode !== 'count';
  const later = [checkName('row count'), ...(hasChecksum ? [checkName('checksum')] : [])];
  if (!table) {
    return [exists, ...later.map((n) => ({ name: n, status: 'skipped' as const, expected: null, actual: null, table: name, detail: `skipped: "${exists.name}" failed` }))];
  }
  try {
    return [exists, ...(hasChecksum ? await compareSums(client, name, marker, table, checkName) : [await compareCount(client, name, marker, table, checkName)])];
  } catch (error) {
    const detail = `could not read ${name}: ${(error as Error).message}`;
    return [exists, ...later.map((n) => ({ name: n, status: 'failed' as const, expected: null, actual: null, table: name, detail }))];
  }
}

async function compareCount(
  client: pg.ClientBase,
  name: QualifiedName,
  marker: TableMarker,
  table: TableRef,
  checkName: (what: string) => string,
): Promise<CheckResult> {
  const actual = await countRows(client, table);
  const tolerance = marker.tolerance ?? 0;
  const passed = Math.abs(actual - marker.rows) <= tolerance * marker.rows;
  const allowed = `count mode: within ±${round(tolerance * 100)} % of ${marker.rows} (tolerance ${tolerance})`;
  const off = marker.rows === 0 ? '' : `${actual} rows is ${round((Math.abs(actual - marker.rows) / marker.rows) * 100)} % off; `;
  return { name: checkName('row count'), status: passed ? 'passed' : 'failed', expected: marker.rows, actual, table: name, detail: passed ? allowed : `${off}${allowed}` };
}

async function compareSums(
  client: pg.ClientBase,
  name: QualifiedName,
  marker: TableMarker,
  table: TableRef,
  checkName: (what: string) => string,
): Promise<CheckResult[]> {
  // A marker without ranges (hand-written, say) is still compared as a whole, over the whole row.
  const layout = marker.ranges?.layout ?? hashLayout(null);
  const totals = await computeRangeSums(client, table, layout, marker.bound);
  const differences = diffRanges(marker.ranges?.sums ?? [], totals.sums);
  const scope = marker.bound ? `append-only: ${boundText(marker.bound)}` : undefined;

  const countPassed = totals.rows === marker.rows;
  const countDiffs = differences.filter((d) => d.expected.rows !== d.actual.rows);
  const rowCount: CheckResult = {
    name: checkName('row count'),
    status: countPassed ? 'passed' : 'failed',
    expected: marker.rows,
    actual: totals.rows,
    table: name,
    ...withDetail(countPassed ? scope : joinDetail(scope, describeDifferences(layout, marker.bound, countDiffs))),
  };

  let checksum: CheckResult;
  if (marker.algorithm !== CHECKSUM_ALGORITHM || marker.checksum === undefined) {
    checksum = {
      name: checkName('checksum'),
      status: 'failed',
      expected: marker.checksum ?? null,
      actual: null,
      table: name,
      detail: marker.checksum === undefined
        ? 'the marker records no checksum for this table'
        : `the marker was taken with checksum algorithm ${marker.algorithm}, this restore-drill computes ${CHECKSUM_ALGORITHM}: take a new marker`,
    };
  } else {
    const passed = totals.checksum === marker.checksum;
    checksum = {
      name: checkName('checksum'),
      status: passed ? 'passed' : 'failed',
      expected: marker.checksum,
      actual: totals.checksum,
      table: name,
      ...withDetail(passed ? scope : joinDetail(scope, describeDifferences(layout, marker.bound, differences) || 'checksums differ')),
    };
  }
  return [rowCount, checksum];
}

interface RangeDifference {
  readonly bucket: number;
  readonly expected: { readonly rows: number; readonly sum: string };
  readonly actual: { readonly rows: number; readonly sum: string };
}

/** Ranges whose row count or checksum differ, by bucket; a range missing on one side has 0 rows there. */
export function diffRanges(expected: readonly RangeSum[], actual: readonly RangeSum[]): RangeDifference[] {
  const none = { rows: 0, sum: '0' };
  const before = new Map(expected.map((s) => [s.bucket, s]));
  const after = new Map(actual.map((s) => [s.bucket, s]));
  const buckets = [...new Set([...before.keys(), ...after.keys()])].sort((a, b) => a - b);
  return buckets
    .map((bucket) => ({ bucket, expected: before.get(bucket) ?? none, actual: after.get(bucket) ?? none }))
    .filter((d) => d.expected.rows !== d.actual.rows || d.expected.sum !== d.actual.sum);
}

/**
 * Names differing ranges for a check's detail, e.g.
 * `rows with id 1..125 differ (bucket 0: 125 rows expected, 124 found)`.
 */
export function describeDifferences(layout: RangeLayout, bound: RowBound | undefined, differences: readonly RangeDifference[]): string {
  const parts = differences.slice(0, MAX_RANGES_IN_DETAIL).map((d) => {
    const counts =
      d.expected.rows === d.actual.rows
        ? `${d.expected.rows} rows expected and found, checksums differ`
        : `${d.expected.rows} rows expected, ${d.actual.rows} found`;
    return layout.kind === 'integer'
      ? `${describeRange(layout, d.bucket, bound)} differ (bucket ${d.bucket}: ${counts})`
      : `${describeRange(layout, d.bucket, bound)} differ (${counts})`;
  });
  const more = differences.length - MAX_RANGES_IN_DETAIL;
  if (more > 0) parts.push(`and ${more} more ranges`);
  return parts.join('; ');
}

/** The key range a bucket covers, in words: `rows with id 1..125`, `rows in hash bucket 3 of 16 (by sku)`. */
export function describeRange(layout: RangeLayout, bucket: number, bound?: RowBound): string {
  if (layout.kind === 'hash') return `rows in hash bucket ${bucket} of ${layout.buckets} (by ${layout.columns ? layout.columns.join(', ') : 'whole row'})`;
  const min = BigInt(layout.min);
  const width = BigInt(layout.width);
  if (bucket < 0) return `rows with ${layout.column} below ${min}`;
  if (bucket >= layout.buckets) return `rows with ${layout.column} above ${min + width * BigInt(layout.buckets) - 1n}`;
  const low = min + BigInt(bucket) * width;
  let high = low + width - 1n;
  if (bound?.value != null && BigInt(bound.value) < high) high = BigInt(bound.value);
  return `rows with ${layout.column} ${low}..${high}`;
}

function boundText(bound: RowBound): string {
  return bound.value === null ? 'the table was empty when the marker was taken' : `rows with ${bound.column} <= ${bound.value}`;
}

function joinDetail(...parts: Array<string | undefined>): string | undefined {
  const text = parts.filter(Boolean).join('; ');
  return text || undefined;
}

function withDetail(detail: string | undefined): { detail?: string } {
  return detail ? { detail } : {};
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}
