import type pg from 'pg';
import type { CheckResult } from '../model/report.ts';
import {
  CHECKSUM_ALGORITHM,
  computeRangeSums,
  computeTotals,
  countRows,
  hashLayout,
  parseQualifiedName,
  qualifiedName,
  rangeSumsQuery,
  TEXT_ROW_HASH_SQL,
  type BlockRange,
  type RowBound,
  type TableRef,
  type Totals,
} from '../markers/checksum-sql.ts';
import { defaultPoolSize, openConnectionPool, type ConnectionPool } from '../markers/connection-pool.ts';
import type { Marker, QualifiedName, RangeLayout, RangeSum, TableMarker } from '../model/marker.ts';
import { splitBlocks, tableBlocks } from './table-blocks.ts';
import { readRestoredTables, type RestoredTableFacts } from './restored-tables.ts';
import {
  columnsHashedOtherwise,
  isComparableTypedAlgorithm,
  readTypedColumns,
  readTypedColumnsOfTables,
  TYPED_HASH_MIN_MAJOR,
  type TypedColumn,
  typedRowHashSql,
  unsafeColumns,
} from '../markers/typed-row-hash.ts';

/** Options of {@link compareWithMarker} and {@link startComparison}. */
export interface CompareOptions {
  /** Names the marker in every check name: `manifest` or `marker #<id>`. */
  readonly label: string;
  /** Connections comparing tables in parallel; default min(4, CPU cores). */
  readonly poolSize?: number;
  /** Called as each table is compared: `done` of `total` tables; for a progress display. */
  readonly onTable?: (done: number, total: number) => void;
  /**
   * Collects the checksum algorithms actually computed, e.g. `rdsum-record/3 (PostgreSQL 15)` or
   * `rdsum-text-md5/1`, for the report.
   */
  readonly algorithms?: Set<string>;
  /**
   * Use the marker's typed checksum (`rdsum-record/3`) when the restored server runs the major it was taken
   * on (default true); false always computes the portable `rdsum-text-md5/1`. A marker's `rdsum-record/1`
   * (which followed equality, not identity, for arrays, bare bpchar and non-deterministic collations) is never used:
   * such a marker is verified by its portable checksum. Nor is `rdsum-record/2` for a table with a jsonb column
   * (it took jsonb by value, 2.0 = 2 inside a document): that table's portable checksum is compared, and the
   * check's detail says why.
   */
  readonly typed?: boolean;
  /**
   * Also sum each table of 32 MB or more in block ranges on several connections at once (PostgreSQL 14+).
   * Default false: on 2 cores it was measured slower than one query per table, tables in parallel
   * (docs/performance.md); it may pay with many cores and one dominant table.
   */
  readonly splitTables?: boolean;
  /**
   * Verification under a time budget (see verify-budget.ts): per table, the buckets of its marker's key ranges
   * to checksum this time. Then every table with key ranges has its row count compared in full and only those
   * ranges checksummed, with the portable algorithm the ranges were recorded with; a table with no bucket
   * listed gets no checksum check at all (the caller lists what was left out). Tables without key ranges and
   * `count` tables are compared as without this option.
   */
  readonly onlyRanges?: ReadonlyMap<QualifiedName, readonly number[]>;
}

/** How many differing ranges a check's detail names before it says "and N more". */
const MAX_RANGES_IN_DETAIL = 5;

/** With `splitTables`, tables smaller than two of these (8 kB heap blocks: 16 MB) are still summed in one query. */
const MIN_BLOCKS_PER_PART = 2048;

/**
 * Compares a restored database with a marker. Per table of the marker, in the marker's order:
 * - `table exists <table> (<label>)`;
 * - `row count <table> (<label>)`: exact for `exact` and `append-only` (rows up to the bound), within the
 *   tolerance for `count`;
 * - `checksum <table> (<label>)` for `exact` and `append-only`.
 * Each table is first summed as a whole — with the typed row hash when the marker has one taken on the
 * restored server's major, else with the portable one.
 * Only when that differs from the marker is it summed again per key range of the marker's layout, so the
 * failed checks name the ranges that differ.
 * A table that is missing gets its other checks `skipped`; a table that cannot be read (e.g. its key column
 * is gone) gets them `failed` with the database's error. Tables are compared in parallel on a small pool of
 * read-only connections with pinned settings. Never throws for a difference: it is data in the result.
 *
 * @example
 * const checks = await compareWithMarker(env.connectionConfig(), manifest, { label: 'manifest' });
 */
export async function compareWithMarker(
  config: pg.ClientConfig,
  marker: Marker,
  options: CompareOptions,
): Promise<CheckResult[]> {
  if (Object.keys(marker.tables).length === 0) return [];
  await using comparison = startComparison(config, marker, options);
  return await comparison.finish(); // await: the pool closes when this scope exits
}

/**
 * A comparison that starts before the restore has finished: each table is compared as soon as the restore
 * reports it loaded ({@link Comparison.tableRestored}), while pg_restore goes on with other tables and
 * indexes. Close it with `await using` or {@link Comparison.close}, also when the restore fails.
 */
export interface Comparison extends AsyncDisposable {
  /**
   * A table's data is completely loaded (pg_restore finished its `TABLE DATA` item): its numbers can be
   * computed now. Indexes and constraints may still be building; they do not change the rows. Tables not in
   * the marker are ignored. Pass it as `RestoreOptions.onTableRestored`.
   */
  readonly tableRestored: (table: { readonly schema: string; readonly name: string }) => void;
  /**
   * The restore has `busy` of `jobs` workers busy: until {@link finish}, the comparison uses at most the idle
   * ones' share (`jobs - busy` connections), so it fills the restore's gaps instead of slowing it down. Never
   * called: no limit. Pass it as `RestoreOptions.onRestoreWorkers`.
   */
  readonly restoreWorkers: (busy: number, jobs: number) => void;
  /**
   * Compares every table not started yet, waits for all, and returns the checks in the marker's order.
   * `onTable` (instead of the one given at the start) hears about tables done from now on, and at once about
   * those already done.
   */
  finish(options?: { readonly onTable?: (done: number, total: number) => void }): Promise<CheckResult[]>;
  /** Stops: closes the connections (queries still running are abandoned). Safe to call twice. */
  close(): Promise<void>;
}

/**
 * Starts a {@link Comparison} of a restored database with a marker. It connects when the first table is
 * reported loaded (or at {@link Comparison.finish}), so an environment whose database appears only with the
 * restore is fine; `config` may be a function for the same reason.
 *
 * @example
 * await using comparison = startComparison(() => env.connectionConfig(), manifest, { label: 'manifest' });
 * await env.restore(restorable, { log, onTableRestored: comparison.tableRestored });
 * checks.push(...(await comparison.finish()));
 */
export function startComparison(
  config: pg.ClientConfig | (() => pg.ClientConfig),
  marker: Marker,
  options: CompareOptions,
): Comparison {
  return new MarkerComparison(config, marker, options);
}

/** What a comparison needs to know about a restored table; null when it is not there. */
interface RestoredTable {
  readonly table: TableRef;
  /** The row hash to sum: typed when the marker has a typed checksum of this server's major. */
  readonly rowHash: string;
  /** The typed checksum it is compared with, when the typed row hash is used. */
  readonly typed?: NonNullable<TableMarker['typed']>;
  readonly parts: BlockRange[];
  /** Why the checksum is not computed: printing or comparing a column would run a function not trusted to run. */
  readonly notComputed?: string;
  /** Why the marker's typed checksum was not used for this table, for the passed check's detail. */
  readonly note?: string;
}

class MarkerComparison implements Comparison {
  private readonly tables: Map<QualifiedName, TableMarker>;
  private readonly started = new Map<QualifiedName, Promise<CheckResult[]>>();
  private opened: Promise<ConnectionPool> | undefined;
  private readonly poolSize: number;
  /** Also sum large tables in block ranges (CompareOptions.splitTables). */
  private readonly split: boolean;
  private serverMajor: Promise<number> | undefined;
  /** Every table's kind and non-built-in columns, read in one query once the restore is over (see restoredFacts). */
  private allFacts: Promise<Map<QualifiedName, RestoredTableFacts | undefined>> | undefined;
  /** Every table's columns, read in one query once the restore is over (see typedColumns). */
  private allColumns: Promise<Map<QualifiedName, TypedColumn[] | undefined>> | undefined;
  private onTable: ((done: number, total: number) => void) | undefined;
  private done = 0;
  private closed = false;
  /** finish() was called: the restore is over, every connection may work. */
  private finishing = false;
  /** How many connections may work now (see restoreWorkers), how many do, and who waits for one. */
  private capacity = Infinity;
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(
    private readonly config: pg.ClientConfig | (() => pg.ClientConfig),
    marker: Marker,
    private readonly options: CompareOptions,
  ) {
    this.tables = new Map(Object.entries(marker.tables));
    this.split = options.splitTables ?? false;
    this.poolSize = Math.max(
      1,
      Math.min(options.poolSize ?? defaultPoolSize(), this.split ? Infinity : this.tables.size),
    );
    this.onTable = options.onTable;
  }

  /** The connections, opened on first use. */
  private get pool(): Promise<ConnectionPool> {
    if (!this.opened) {
      const config = typeof this.config === 'function' ? this.config() : this.config;
      this.opened = openConnectionPool(config, { snapshot: 'none', size: this.poolSize });
      // A failure to connect is reported by finish() (and in each table's checks), not as an unhandled rejection.
      this.opened.catch(() => {});
    }
    return this.opened;
  }

  readonly tableRestored = (table: { readonly schema: string; readonly name: string }): void => {
    const name = qualifiedName(table);
    if (!this.closed && this.tables.has(name) && !this.started.has(name))
      this.started.set(name, this.compareTable(name));
  };

  readonly restoreWorkers = (busy: number, jobs: number): void => {
    if (this.finishing) return;
    this.capacity = Math.max(0, jobs - busy);
    this.admit();
  };

  async finish(options: { readonly onTable?: (done: number, total: number) => void } = {}): Promise<CheckResult[]> {
    this.finishing = true;
    this.capacity = Infinity;
    this.admit();
    if (options.onTable) {
      this.onTable = options.onTable;
      if (this.done > 0) this.onTable(this.done, this.tables.size);
    }
    await this.pool; // cannot connect: throw, as before any table is compared
    for (const name of this.tables.keys()) if (!this.started.has(name)) this.started.set(name, this.compareTable(name));
    const perTable = await Promise.all([...this.tables.keys()].map((name) => this.started.get(name)!));
    return perTable.flat();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.capacity = Infinity;
    this.admit(); // waiting tasks then fail on the closed pool
    await (await this.opened?.catch(() => undefined))?.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** Runs a task on the pool once the comparison may use another connection. */
  private async run<R>(task: (client: pg.Client) => Promise<R>): Promise<R> {
    const pool = await this.pool;
    if (this.active < this.capacity && this.waiting.length === 0) this.active++;
    else await new Promise<void>((resolve) => this.waiting.push(resolve)); // admit() counts it active
    try {
      return await pool.run(task);
    } finally {
      this.active--;
      this.admit();
    }
  }

  private admit(): void {
    while (this.waiting.length > 0 && this.active < this.capacity) {
      this.active++;
      this.waiting.shift()!();
    }
  }

  /** The table's checks; never rejects (a problem reading it is in its checks). */
  private async compareTable(name: QualifiedName): Promise<CheckResult[]> {
    const marker = this.tables.get(name)!;
    const checkName = (what: string) => `${what} ${name} (${this.options.label})`;
    const hasChecksum = marker.mode !== 'count';
    const later = [checkName('row count'), ...(hasChecksum ? [checkName('checksum')] : [])];
    let exists: CheckResult | undefined;
    let checks: CheckResult[];
    try {
      const restored = await this.run((client) => this.describe(client, name, marker));
      exists = restored
        ? { name: checkName('table exists'), status: 'passed', expected: true, actual: true, table: name }
        : {
            name: checkName('table exists'),
            status: 'failed',
            expected: true,
            actual: false,
            table: name,
            detail: `${name} is not in the restored database`,
          };
      if (!restored) {
        checks = [
          exists,
          ...later.map((n) => ({
            name: n,
            status: 'skipped' as const,
            expected: null,
            actual: null,
            table: name,
            detail: `skipped: "${exists!.name}" failed`,
          })),
        ];
      } else if (!hasChecksum) {
        checks = [exists, await this.run((client) => compareCount(client, name, marker, restored.table, checkName))];
      } else {
        checks = [exists, ...(await this.compareChecksums(name, marker, restored, checkName))];
      }
    } catch (error) {
      const detail = `could not read ${name}: ${(error as Error).message}`;
      const failed = later.map((n) => ({
        name: n,
        status: 'failed' as const,
        expected: null,
        actual: null,
        table: name,
        detail,
      }));
      checks = exists
        ? [exists, ...failed]
        : [
            { name: checkName('table exists'), status: 'failed', expected: true, actual: null, table: name, detail },
            ...failed,
          ];
    }
    // Counted also while nobody listens yet: finish() reports the tables done before it was called.
    this.done += 1;
    this.onTable?.(this.done, this.tables.size);
    return checks;
  }

  /**
   * A table's columns for the row hash. Once the restore is over, every table's are read in one catalog query
   * (the first table to ask runs it): per table, that query dominated a database of many small tables. While
   * the restore runs, tables are compared as they load, each reading its own.
   */
  private async typedColumns(client: pg.ClientBase, name: QualifiedName, table: TableRef): Promise<TypedColumn[]> {
    if (this.finishing) {
      if (!this.allColumns) {
        const names = [...this.tables.keys()];
        this.allColumns = readTypedColumnsOfTables(client, names.map(parseQualifiedName)).then(
          (columns) => new Map(names.map((key, index) => [key, columns[index]])),
        );
      }
      const columns = (await this.allColumns).get(name);
      if (columns) return columns;
    }
    return readTypedColumns(client, table);
  }

  /**
   * Whether the table was restored, partitioned or not, and its columns of types that are not built-in: once the
   * restore is over for every table in one catalog query (as {@link typedColumns}), while it runs per table.
   */
  private async restoredFacts(
    client: pg.ClientBase,
    name: QualifiedName,
    table: TableRef,
  ): Promise<RestoredTableFacts | undefined> {
    if (!this.finishing) return (await readRestoredTables(client, [table]))[0];
    if (!this.allFacts) {
      const names = [...this.tables.keys()];
      this.allFacts = readRestoredTables(client, names.map(parseQualifiedName)).then(
        (facts) => new Map(names.map((key, index) => [key, facts[index]])),
      );
    }
    return (await this.allFacts).get(name);
  }

  /** Finds the table and decides how to sum it: which row hash, in which block ranges. */
  private async describe(
    client: pg.ClientBase,
    name: QualifiedName,
    marker: TableMarker,
  ): Promise<RestoredTable | null> {
    const ref = parseQualifiedName(name);
    const facts = await this.restoredFacts(client, name, ref);
    if (!facts) return null;
    const table: TableRef = { ...ref, partitioned: facts.partitioned };
    if (marker.mode === 'count') return { table, rowHash: TEXT_ROW_HASH_SQL, parts: [{ from: null, to: null }] };
    this.serverMajor ??= client
      .query<{ major: number }>("select current_setting('server_version_num')::int / 10000 as major")
      .then((r) => r.rows[0]!.major);
    const major = await this.serverMajor;
    const candidate =
      (this.options.typed ?? true) &&
      marker.algorithm === CHECKSUM_ALGORITHM && // a marker of another version: its other numbers may mean something else too
      isComparableTypedAlgorithm(marker.typed?.algorithm) &&
      marker.typed.serverMajor === major &&
      major >= TYPED_HASH_MIN_MAJOR
        ? marker.typed
        : undefined;
    // Both row hashes print columns with their types' output functions: the restored copy's types must be as
    // trustworthy as production's were (a marker only has checksums when they were).
    const columns = await this.typedColumns(client, name, table);
    const unsafe = unsafeColumns(columns);
    if (unsafe.length > 0) {
      const notComputed = `not computed: in the restored copy, printing ${unsafe.join('; ')} would run a function that is neither built-in nor a superuser's C code`;
      return { table, rowHash: TEXT_ROW_HASH_SQL, parts: [], notComputed };
    }
    // Key columns are cast to text (hash layout), to numeric and compared with <= (integer layout, bound): only
    // built-in types' casts and operators are certain to be nobody's code. A marker only uses such keys.
    const keys = keyColumns(marker);
    const odd = facts.nonBuiltin.filter((column) => keys.includes(column.name)).map((column) => column.described);
    if (odd.length > 0) {
      const notComputed = `not computed: key column ${odd.join(', ')} of the restored table is not of a built-in type, so its casts and operators could be anyone's functions`;
      return { table, rowHash: TEXT_ROW_HASH_SQL, parts: [], notComputed };
    }
    // An older typed algorithm that hashed some of this table's columns otherwise (rdsum-record/2: jsonb by
    // value) cannot be recomputed exactly: the portable checksum, which prints every number as stored, is.
    const otherwise = candidate ? columnsHashedOtherwise(columns, candidate.algorithm) : [];
    const typed = otherwise.length === 0 ? candidate : undefined;
    const note =
      otherwise.length > 0
        ? `the marker's ${candidate!.algorithm} took jsonb column${otherwise.length > 1 ? 's' : ''} ${otherwise.join(', ')} by value (2.0 = 2 inside a document), so the portable checksum was compared`
        : undefined;
    const rowHash = typed ? typedRowHashSql(columns) : TEXT_ROW_HASH_SQL;
    const blocks = this.split ? await tableBlocks(client, table, major) : null;
    const parts =
      blocks === null ? [{ from: null, to: null }] : splitBlocks(blocks, this.poolSize, MIN_BLOCKS_PER_PART);
    return typed ? { table, rowHash, typed, parts } : { table, rowHash, parts, ...(note ? { note } : {}) };
  }

  /**
   * Sums the whole table (in parts, in parallel); when it matches the marker, that is all. Otherwise sums it
   * again per key range with the portable algorithm, so the failed checks name the ranges that differ.
   */
  private async compareChecksums(
    name: QualifiedName,
    marker: TableMarker,
    restored: RestoredTable,
    checkName: (what: string) => string,
  ): Promise<CheckResult[]> {
    if (restored.notComputed) {
      const detail = restored.notComputed;
      // Without the bound (its comparison is what could not run), only a whole-table count can be compared.
      const rowCount: CheckResult = marker.bound
        ? { name: checkName('row count'), status: 'failed', expected: marker.rows, actual: null, table: name, detail }
        : await this.run(async (client) => {
            const count = await countRows(client, restored.table);
            return {
              name: checkName('row count'),
              status: count === marker.rows ? 'passed' : 'failed',
              expected: marker.rows,
              actual: count,
              table: name,
            };
          });
      return [
        rowCount,
        {
          name: checkName('checksum'),
          status: 'failed',
          expected: marker.checksum ?? null,
          actual: null,
          table: name,
          detail,
        },
      ];
    }
    const only = this.options.onlyRanges;
    if (only && marker.ranges && marker.algorithm === CHECKSUM_ALGORITHM && marker.checksum !== undefined) {
      this.options.algorithms?.add(CHECKSUM_ALGORITHM);
      return this.run((client) =>
        compareSomeRanges(client, name, marker, restored.table, only.get(name) ?? [], checkName),
      );
    }
    const expected = restored.typed?.checksum ?? marker.checksum;
    if (expected !== undefined && (restored.typed || marker.algorithm === CHECKSUM_ALGORITHM)) {
      const parts = await Promise.all(
        restored.parts.map((blocks) =>
          this.run((client) => computeTotals(client, restored.table, restored.rowHash, marker.bound, blocks)),
        ),
      );
      const totals = addTotals(parts);
      if (totals.rows === marker.rows && totals.checksum === expected) {
        const algorithm = restored.typed
          ? `${restored.typed.algorithm} (PostgreSQL ${restored.typed.serverMajor})`
          : CHECKSUM_ALGORITHM;
        this.options.algorithms?.add(algorithm);
        const scope = marker.bound ? `append-only: ${boundText(marker.bound)}` : undefined;
        return [
          {
            name: checkName('row count'),
            status: 'passed',
            expected: marker.rows,
            actual: totals.rows,
            table: name,
            ...withDetail(scope),
          },
          {
            name: checkName('checksum'),
            status: 'passed',
            expected,
            actual: totals.checksum,
            table: name,
            detail: joinDetail(scope, `checksum ${algorithm}`, restored.note)!,
          },
        ];
      }
    }
    this.options.algorithms?.add(CHECKSUM_ALGORITHM);
    return this.run((client) => compareSums(client, name, marker, restored.table, checkName));
  }
}

/** The columns a marker's layout and bound name: cast, compared or printed to find a row's range. */
function keyColumns(marker: TableMarker): string[] {
  const layout = marker.ranges?.layout;
  const columns = layout?.kind === 'integer' ? [layout.column] : (layout?.columns ?? []);
  return [...new Set([...columns, ...(marker.bound ? [marker.bound.column] : [])])];
}

function addTotals(parts: readonly Totals[]): Totals {
  return {
    rows: parts.reduce((rows, part) => rows + part.rows, 0),
    checksum: String(parts.reduce((sum, part) => sum + BigInt(part.checksum), 0n)),
  };
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
  const off =
    marker.rows === 0 ? '' : `${actual} rows is ${round((Math.abs(actual - marker.rows) / marker.rows) * 100)} % off; `;
  return {
    name: checkName('row count'),
    status: passed ? 'passed' : 'failed',
    expected: marker.rows,
    actual,
    table: name,
    detail: passed ? allowed : `${off}${allowed}`,
  };
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
      detail:
        marker.checksum === undefined
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
      ...withDetail(
        passed
          ? scope
          : joinDetail(scope, describeDifferences(layout, marker.bound, differences) || 'checksums differ'),
      ),
    };
  }
  return [rowCount, checksum];
}

/**
 * Under a budget: the whole table's row count (up to the bound), and the checksums of only the `buckets`
 * listed, compared range by range with the marker's. No checksum check when no bucket is listed.
 */
async function compareSomeRanges(
  client: pg.ClientBase,
  name: QualifiedName,
  marker: TableMarker,
  table: TableRef,
  buckets: readonly number[],
  checkName: (what: string) => string,
): Promise<CheckResult[]> {
  const layout = marker.ranges!.layout;
  const scope = marker.bound ? `append-only: ${boundText(marker.bound)}` : undefined;
  const { rows } = await computeTotals(client, table, '0', marker.bound);
  const rowCount: CheckResult = {
    name: checkName('row count'),
    status: rows === marker.rows ? 'passed' : 'failed',
    expected: marker.rows,
    actual: rows,
    table: name,
    ...withDetail(scope),
  };
  if (buckets.length === 0) return [rowCount];
  const wanted = new Set(buckets);
  const result = await client.query<{ bucket: number; rows: string; sum: string }>(
    rangeSumsQuery(table, layout, marker.bound, undefined, [...wanted]),
  );
  const actual = result.rows.map((row) => ({ bucket: row.bucket, rows: Number(row.rows), sum: row.sum }));
  const expected = (marker.ranges!.sums ?? []).filter((sum) => wanted.has(sum.bucket));
  const differences = diffRanges(expected, actual);
  const total = (sums: readonly RangeSum[]) => String(sums.reduce((sum, range) => sum + BigInt(range.sum), 0n));
  const checked = `${wanted.size} of ${layout.kind === 'integer' ? layout.buckets + 2 : layout.buckets} key ranges checksummed (verification budget): ${[
    ...wanted,
  ]
    .sort((a, b) => a - b)
    .map((bucket) => describeRange(layout, bucket, marker.bound))
    .join('; ')}`;
  const checksum: CheckResult = {
    name: checkName('checksum'),
    status: differences.length === 0 ? 'passed' : 'failed',
    expected: total(expected),
    actual: total(actual),
    table: name,
    detail: joinDetail(
      scope,
      differences.length === 0 ? undefined : describeDifferences(layout, marker.bound, differences),
      `checksum ${CHECKSUM_ALGORITHM}`,
      checked,
    )!,
  };
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
export function describeDifferences(
  layout: RangeLayout,
  bound: RowBound | undefined,
  differences: readonly RangeDifference[],
): string {
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
  if (layout.kind === 'hash')
    return `rows in hash bucket ${bucket} of ${layout.buckets} (by ${layout.columns ? layout.columns.join(', ') : 'whole row'})`;
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
  return bound.value === null
    ? 'the table was empty when the marker was taken'
    : `rows with ${bound.column} <= ${bound.value}`;
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
