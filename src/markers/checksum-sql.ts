import pg from 'pg';
import type { QualifiedName, RangeLayout, RangeSum, TableMarker } from '../model/marker.ts';

/**
 * Name and version of the checksum algorithm, recorded in every marker and report. Bump the version on any
 * change that alters a number: the row text, the hash, the bucket formulas or the pinned settings.
 */
export const CHECKSUM_ALGORITHM = 'rdsum-text-md5/1';

/** Number of key ranges a table is split into (the integer layout uses at most this many). */
export const DEFAULT_BUCKETS = 16;

/**
 * Session settings that change how values print, pinned on every connection that computes checksums, so
 * production and the restored copy produce the same row text whatever their server or role defaults are.
 * `lc_monetary` changes how `money` prints; `search_path = pg_catalog` makes `regclass`-like values print
 * schema-qualified and keeps user schemas from shadowing `md5` and friends. `row_security = off` changes no
 * value: it makes reading a table through a row-level security policy an error instead of running the policy.
 */
export const PINNED_SETTINGS_SQL = [
  "SET TimeZone = 'UTC'",
  "SET DateStyle = 'ISO, YMD'",
  "SET IntervalStyle = 'postgres'",
  'SET extra_float_digits = 1',
  "SET bytea_output = 'hex'",
  "SET lc_monetary = 'C'",
  'SET search_path = pg_catalog',
  // A policy's expression runs with the reader's rights: like pg_dump, refuse to read a table through one
  // (an error) rather than run it. Superusers, owners and BYPASSRLS roles read as before.
  'SET row_security = off',
].join('; ');

/** Pins the settings of {@link PINNED_SETTINGS_SQL} for the rest of the session. */
export async function pinSessionSettings(client: pg.ClientBase): Promise<void> {
  await client.query(PINNED_SETTINGS_SQL);
}

/** A table to checksum. */
export interface TableRef {
  readonly schema: string;
  readonly name: string;
  /** A partitioned table is scanned with its partitions; any other table with `ONLY` (its own rows). */
  readonly partitioned?: boolean;
}

/** The row bound of an append-only table: only rows with `column <= value` count (none when null). */
export type RowBound = NonNullable<TableMarker['bound']>;

/**
 * The key of a table in a marker: `schema.name` when neither part contains a dot or a double quote (every
 * marker written before quoted keys existed reads the same), else both parts as quoted identifiers,
 * `"a.b"."c"` — so two tables never share a key, and a key never needs guessing where the schema ends.
 */
export function qualifiedName(table: { readonly schema: string; readonly name: string }): QualifiedName {
  const plain = (part: string) => !part.includes('.') && !part.includes('"');
  return plain(table.schema) && plain(table.name)
    ? `${table.schema}.${table.name}`
    : `${pg.escapeIdentifier(table.schema)}.${pg.escapeIdentifier(table.name)}`;
}

/**
 * Reads a table key of {@link qualifiedName}: `"schema"."name"` (quoted, `""` for a quote inside), or the
 * unquoted `schema.name` split at the first dot (how older markers wrote every key); a name without a dot is in
 * `public`. A quoted key that is not two quoted identifiers joined by a dot reads as a table in no schema.
 */
export function parseQualifiedName(name: QualifiedName): TableRef {
  if (name.startsWith('"')) {
    const match = /^"((?:[^"]|"")*)"\."((?:[^"]|"")*)"$/.exec(name);
    // An unreadable quoted key names no table that can exist: the comparison then finds it missing.
    if (!match) return { schema: '', name };
    return { schema: match[1]!.replaceAll('""', '"'), name: match[2]!.replaceAll('""', '"') };
  }
  const dot = name.indexOf('.');
  return dot < 0 ? { schema: 'public', name } : { schema: name.slice(0, dot), name: name.slice(dot + 1) };
}

/** The table's name quoted for SQL, e.g. `"public"."Orders"`. */
export function quoteTable(table: TableRef): string {
  return `${pg.escapeIdentifier(table.schema)}.${pg.escapeIdentifier(table.name)}`;
}

/**
 * The integer layout for keys `min..max`: about {@link DEFAULT_BUCKETS} ranges of equal width. An empty
 * table (no min) gets one range starting at 0, so every row found later counts as a difference.
 */
export function integerLayout(
  column: string,
  min: string | null,
  max: string | null,
  buckets = DEFAULT_BUCKETS,
): RangeLayout {
  if (min === null || max === null) return { kind: 'integer', column, min: '0', width: '1', buckets: 1 };
  // BigInt: bigint keys do not fit a JS number.
  const span = BigInt(max) - BigInt(min) + 1n;
  const width = (span + BigInt(buckets) - 1n) / BigInt(buckets);
  return { kind: 'integer', column, min, width: String(width), buckets: Number((span + width - 1n) / width) };
}

/** The hash layout: by the given key columns, or by the whole row when there is no key. */
export function hashLayout(columns: readonly string[] | null, buckets = DEFAULT_BUCKETS): RangeLayout {
  return { kind: 'hash', columns: columns && columns.length > 0 ? [...columns] : null, buckets };
}

/** A parameterised query. */
export interface SqlQuery {
  readonly text: string;
  readonly values: unknown[];
}

const ROW = 'r';

/**
 * The row's text, as `(r.*)::text` prints it — but by calling `record_out` itself: a cast of the row to text
 * would run a user-defined cast from the table's row type (any role that owns the table can create one), with
 * the rights of whoever computes the checksum. `record_out` prints each column with its type's own output
 * function; `readTypedColumns` (typed-row-hash.ts) checks that every one of them may run.
 */
export const ROW_TEXT_SQL = `pg_catalog.textin(pg_catalog.record_out(${ROW}.*))`;

/**
 * The one scan that yields every range's row count and checksum of a table: per row, the first 64 bits of
 * md5 of the row's text as a signed bigint; per range, `count(*)` and `sum(hash)` (numeric: no overflow, and
 * unlike XOR a duplicated row does not cancel out). Rows come out as `(bucket, rows, sum)`, ordered by bucket.
 * With `typedHash` (SQL over the alias `r`, see typed-row-hash.ts) each range also sums that hash, as
 * `typed_sum`, in the same scan. With `only`, just those buckets are summed: an integer layout reads only
 * their key ranges (an index range scan where the key is indexed), a hash layout still reads every row but
 * hashes and sums only the rows of those buckets.
 */
export function rangeSumsQuery(
  table: TableRef,
  layout: RangeLayout,
  bound?: RowBound,
  typedHash?: string,
  only?: readonly number[],
): SqlQuery {
  const values: unknown[] = [];
  const param = (value: unknown, type: string) => {
    values.push(value);
    return `$${values.length}::${type}`;
  };
  const column = (name: string) => `${ROW}.${pg.escapeIdentifier(name)}`;
  let keyBucket: string | null = null;
  let rowBucket: string | null = null;
  if (layout.kind === 'integer') {
    const key = `${column(layout.column)}::numeric`;
    const min = param(layout.min, 'numeric');
    // Integer arithmetic on numeric: exact for any bigint, where a division could round into the next range.
    keyBucket = `case when ${key} < ${min} then -1 else least(div(${key} - ${min}, ${param(layout.width, 'numeric')}), ${param(layout.buckets, 'int')}) end::int`;
  } else if (layout.columns) {
    // A marker is only taken with key columns of built-in types (else the whole-row layout): their cast to text
    // is a built-in one, and no role can add a cast between two types it does not own.
    const keyText =
      layout.columns.length === 1
        ? `(${column(layout.columns[0]!)})::text`
        : `row(${layout.columns.map(column).join(', ')})::text`;
    // md5 rather than hashtext(): hashtext is internal, undocumented, and may differ between major versions
    // and CPU architectures — and the restored copy often runs on a different one.
    keyBucket = `mod(('x' || substr(md5(${keyText}), 1, 8))::bit(32)::bigint, ${param(layout.buckets, 'int')})::int`;
  } else {
    rowBucket = `mod(('x' || substr(m, 17, 8))::bit(32)::bigint, ${param(layout.buckets, 'int')})::int`;
  }
  const conditions: string[] = [];
  if (bound)
    conditions.push(bound.value === null ? 'false' : `${column(bound.column)} <= ${param(bound.value, 'bigint')}`);
  // A bucket of the whole row's hash is known only once the row is hashed: it is kept in the outer query.
  if (only && keyBucket) conditions.push(bucketCondition(layout, only, keyBucket, param, column));
  const outerWhere = only && rowBucket ? ` where ${rowBucket} = any(${param(only, 'int[]')})` : '';
  const where = conditions.length > 0 ? `where ${conditions.join(' and ')}` : '';
  const scanOnly = table.partitioned ? '' : 'only ';
  // record_out(r.*) prints the row even when a column is called "r". OFFSET 0 keeps the planner from inlining
  // the inner query, which would compute md5 of the row twice when the bucket comes from it too.
  const typed = typedHash ? `, ${typedHash} as h` : '';
  const inner = `select pg_catalog.md5(${ROW_TEXT_SQL}) as m${keyBucket ? `, ${keyBucket} as b` : ''}${typed} from ${scanOnly}${quoteTable(table)} ${ROW} ${where} offset 0`;
  const text =
    `select ${keyBucket ? 'b' : rowBucket} as bucket, count(*)::text as rows, ` +
    `sum(('x' || substr(m, 1, 16))::bit(64)::bigint)::text as sum${typedHash ? ', coalesce(sum(h), 0)::text as typed_sum' : ''} from (${inner}) s${outerWhere} group by 1 order by 1`;
  return { text, values };
}

/**
 * The SQL condition that keeps the rows of `buckets`. For an integer layout it compares the key column itself
 * with bigint bounds, so an index on the key is used: bucket -1 is `key < min`, bucket `buckets` is
 * `key >= min + buckets × width`, any other `min + b × width <= key < min + (b + 1) × width`. For a hash
 * layout, the bucket expression itself (every row is read).
 */
function bucketCondition(
  layout: RangeLayout,
  buckets: readonly number[],
  bucketSql: string,
  param: (value: unknown, type: string) => string,
  column: (name: string) => string,
): string {
  if (layout.kind !== 'integer') return `${bucketSql} = any(${param(buckets, 'int[]')})`;
  const key = column(layout.column);
  const [min, width] = [BigInt(layout.min), BigInt(layout.width)];
  // Past bigint's range no key can be: that side of the range is open.
  const atLeast = (value: bigint) => (value > BIGINT_MAX ? 'false' : `${key} >= ${param(String(value), 'bigint')}`);
  const below = (value: bigint) => (value > BIGINT_MAX ? 'true' : `${key} < ${param(String(value), 'bigint')}`);
  const ranges = [...new Set(buckets)].map((bucket) => {
    if (bucket < 0) return below(min);
    if (bucket >= layout.buckets) return atLeast(min + width * BigInt(layout.buckets));
    return `(${atLeast(min + width * BigInt(bucket))} and ${below(min + width * BigInt(bucket + 1))})`;
  });
  return ranges.length === 0 ? 'false' : `(${ranges.join(' or ')})`;
}

const BIGINT_MAX = 2n ** 63n - 1n;

/** Row count and checksum of a table (or of its rows up to a bound), with the per-range numbers. */
export interface RangeTotals {
  readonly rows: number;
  /** Sum of all row hashes as a decimal string; `0` for no rows. */
  readonly checksum: string;
  /** Ranges with at least one row, by bucket. */
  readonly sums: RangeSum[];
}

/** Runs {@link rangeSumsQuery} on a connection with pinned settings and adds the ranges up. */
export async function computeRangeSums(
  client: pg.ClientBase,
  table: TableRef,
  layout: RangeLayout,
  bound?: RowBound,
): Promise<RangeTotals>;
/** The same, also summing the typed row hash `typedHash` over all rows: `typedChecksum`. */
export async function computeRangeSums(
  client: pg.ClientBase,
  table: TableRef,
  layout: RangeLayout,
  bound: RowBound | undefined,
  typedHash: string,
): Promise<RangeTotals & { typedChecksum: string }>;
export async function computeRangeSums(
  client: pg.ClientBase,
  table: TableRef,
  layout: RangeLayout,
  bound?: RowBound,
  typedHash?: string,
): Promise<RangeTotals & { typedChecksum?: string }> {
  const result = await client.query<{ bucket: number; rows: string; sum: string; typed_sum?: string }>(
    rangeSumsQuery(table, layout, bound, typedHash),
  );
  const sums = result.rows.map((row) => ({ bucket: row.bucket, rows: Number(row.rows), sum: row.sum }));
  const totals: RangeTotals = {
    rows: sums.reduce((total, range) => total + range.rows, 0),
    checksum: String(sums.reduce((total, range) => total + BigInt(range.sum), 0n)),
    sums,
  };
  if (typedHash === undefined) return totals;
  return { ...totals, typedChecksum: String(result.rows.reduce((total, row) => total + BigInt(row.typed_sum!), 0n)) };
}

/**
 * The row hash of the portable algorithm {@link CHECKSUM_ALGORITHM} as SQL over the row alias `r`: the first
 * 64 bits of md5 of the row's text, as a signed bigint.
 */
export const TEXT_ROW_HASH_SQL = `('x' || pg_catalog.substr(pg_catalog.md5(${ROW_TEXT_SQL}), 1, 16))::bit(64)::bigint`;

/** A range of a table's heap blocks, `from` inclusive and `to` exclusive; null is open-ended. */
export interface BlockRange {
  readonly from: number | null;
  readonly to: number | null;
}

/** Row count and checksum of a whole table (or its rows up to a bound, or a block range of them). */
export interface Totals {
  readonly rows: number;
  /** Sum of the row hashes as a decimal string; `0` for no rows. */
  readonly checksum: string;
}

/**
 * `count(*)` and the sum of a row hash (`rowHash`: {@link TEXT_ROW_HASH_SQL} or a typed row hash) over a
 * table in one scan, without key ranges: when a restored table matches its marker this is all the work there
 * is, and ranges are only computed to name what differs. `blocks` limits the scan to a range of heap blocks
 * (a TID range scan, PostgreSQL 14+), so one large table can be summed in parts on several connections; the
 * parts add up to the table's numbers.
 */
export function totalsQuery(table: TableRef, rowHash: string, bound?: RowBound, blocks?: BlockRange): SqlQuery {
  const values: unknown[] = [];
  const conditions: string[] = [];
  if (bound) {
    if (bound.value === null) conditions.push('false');
    else {
      values.push(bound.value);
      conditions.push(`${ROW}.${pg.escapeIdentifier(bound.column)} <= $${values.length}::bigint`);
    }
  }
  // Block numbers are integers we computed: inlined, so the planner sees constants it can turn into a TID range scan.
  if (blocks?.from != null) conditions.push(`${ROW}.ctid >= '(${Math.trunc(blocks.from)},0)'::tid`);
  if (blocks?.to != null) conditions.push(`${ROW}.ctid < '(${Math.trunc(blocks.to)},0)'::tid`);
  const where = conditions.length > 0 ? ` where ${conditions.join(' and ')}` : '';
  const only = table.partitioned ? '' : 'only ';
  return {
    text: `select count(*)::text as rows, coalesce(sum(${rowHash}), 0)::text as sum from ${only}${quoteTable(table)} ${ROW}${where}`,
    values,
  };
}

/** Runs {@link totalsQuery} on a connection with pinned settings. */
export async function computeTotals(
  client: pg.ClientBase,
  table: TableRef,
  rowHash: string,
  bound?: RowBound,
  blocks?: BlockRange,
): Promise<Totals> {
  const result = await client.query<{ rows: string; sum: string }>(totalsQuery(table, rowHash, bound, blocks));
  return { rows: Number(result.rows[0]!.rows), checksum: result.rows[0]!.sum };
}

/** `count(*)` of a table (`count` mode). */
export async function countRows(client: pg.ClientBase, table: TableRef): Promise<number> {
  const result = await client.query<{ n: string }>(
    `select count(*)::text as n from ${table.partitioned ? '' : 'only '}${quoteTable(table)}`,
  );
  return Number(result.rows[0]!.n);
}

/** Smallest and largest value of an integer key column (null for an empty table), as decimal strings. */
export async function keyRange(
  client: pg.ClientBase,
  table: TableRef,
  column: string,
): Promise<{ min: string | null; max: string | null }> {
  const key = pg.escapeIdentifier(column);
  const result = await client.query<{ min: string | null; max: string | null }>(
    `select min(${key})::text as min, max(${key})::text as max from ${table.partitioned ? '' : 'only '}${quoteTable(table)}`,
  );
  return result.rows[0]!;
}
