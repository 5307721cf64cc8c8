// Verification alone, on a restored cluster: restore-drill's comparison in its variants next to plain
// count(*) scans of the same tables, each run in turn so they share the machine's noise.
import pg from 'pg';
import {
  computeRangeSums,
  computeTotals,
  countRows,
  hashLayout,
  parseQualifiedName,
} from '../src/markers/checksum-sql.ts';
import { readTypedColumnsOfTables, typedRowHashSql } from '../src/markers/typed-row-hash.ts';
import { compareWithMarker, type CompareOptions } from '../src/verify/compare.ts';
import { defaultPoolSize, openConnectionPool } from '../src/markers/connection-pool.ts';
import type { Marker } from '../src/model/marker.ts';
import { compareTableSchemas } from '../src/markers/table-schema.ts';
import { startObjectComparison } from '../src/verify/compare-objects.ts';
import { compareWithinBudget } from '../src/verify/verify-budget.ts';

/** One way to read every table of a restored database. */
export interface VerifyVariant {
  readonly name: string;
  run(config: pg.ClientConfig, marker: Marker): Promise<void>;
}

const countScan = (poolSize: number): VerifyVariant => ({
  name: `count(*) scan, ${poolSize} connection${poolSize > 1 ? 's' : ''}`,
  async run(config, marker) {
    await using pool = await openConnectionPool(config, { snapshot: 'none', size: poolSize });
    await pool.map(Object.keys(marker.tables), (client, name) => countRows(client, parseQualifiedName(name)));
  },
});

const comparison = (name: string, options: Omit<CompareOptions, 'label'>): VerifyVariant => ({
  name,
  async run(config, marker) {
    const checks = await compareWithMarker(config, marker, { label: 'manifest', ...options });
    const failed = checks.filter((check) => check.status !== 'passed');
    if (failed.length > 0)
      throw new Error(`${name}: ${failed.map((check) => `${check.name}: ${check.detail}`).join('; ')}`);
  },
});

/** Names of the two variants whose ratio says what object fingerprints (rdobj/1) add to verification. */
export const WITHOUT_OBJECTS = 'restore-drill as a drill verifies: checksums + table schemas';
export const WITH_OBJECTS = `${WITHOUT_OBJECTS} + object fingerprints (rdobj/1)`;

/**
 * As a drill verifies (run-drill.ts): the checksums on their pool, beside them the table schemas on one more
 * connection and, with `objects`, the object fingerprint on a connection of its own, opened per run as a
 * drill opens it.
 */
const asDrill = (objects: boolean, name = objects ? WITH_OBJECTS : WITHOUT_OBJECTS): VerifyVariant => ({
  name,
  async run(config, marker) {
    const client = new pg.Client(config);
    await client.connect();
    await using comparer = startObjectComparison(config);
    try {
      const schemas = Object.fromEntries(
        Object.entries(marker.tables).flatMap(([table, t]) => (t.schema ? [[table, t.schema]] : [])),
      );
      const [sums, schemaChecks, objectChecks] = await Promise.all([
        compareWithMarker(config, marker, { label: 'manifest' }),
        compareTableSchemas(client, schemas, 'manifest'),
        objects ? comparer.compare(marker, { label: 'manifest', exact: true }) : undefined,
      ]);
      const failed = [...sums, ...schemaChecks, ...(objectChecks?.checks ?? [])].filter(
        (check) => check.status !== 'passed',
      );
      if (failed.length > 0)
        throw new Error(`${name}: ${failed.map((check) => `${check.name}: ${check.detail}`).join('; ')}`);
    } finally {
      await client.end();
    }
  },
});

/** Name of the variant that verifies as drills did before exact jsonb and object fingerprints (issue 12). */
export const BEFORE_IDENTITY =
  'as before exact jsonb and object fingerprints: jsonb by value (rdsum-record/2), table schemas';

/**
 * What verification cost before issue 12: the same typed checksums on the same pool, but jsonb entering the row
 * hash by value (rdsum-record/2's rule, which missed `2.0` → `2`), beside the table schemas, without object
 * fingerprints. Its sums are not those of the marker's `/3`, so it is timed, not compared; {@link WITH_OBJECTS}
 * over it is the growth issue 12's target bounds (≤ 1.10).
 */
const beforeIdentity: VerifyVariant = {
  name: BEFORE_IDENTITY,
  async run(config, marker) {
    const entries = Object.entries(marker.tables);
    const client = new pg.Client(config);
    await client.connect();
    try {
      await using pool = await openConnectionPool(config, {
        snapshot: 'none',
        size: Math.min(defaultPoolSize(), entries.length),
      });
      const refs = entries.map(([name]) => parseQualifiedName(name));
      const columns = await readTypedColumnsOfTables(client, refs);
      const schemas = Object.fromEntries(entries.flatMap(([table, t]) => (t.schema ? [[table, t.schema]] : [])));
      await Promise.all([
        pool.map([...entries.keys()], (c, i) => {
          const byValue = columns[i]!.map((column) =>
            column.cast === 'jsonb_send' ? { name: column.name, rule: 'value' as const } : column,
          );
          return computeTotals(c, refs[i]!, typedRowHashSql(byValue), entries[i]![1].bound);
        }),
        compareTableSchemas(client, schemas, 'manifest'),
      ]);
    } finally {
      await client.end();
    }
  },
};

/** Verification under a budget, as a drill with `--verify-budget` would: the share checksummed goes to stderr. */
const withinBudget = (budgetSeconds: number): VerifyVariant => ({
  name: `restore-drill within a verification budget of ${budgetSeconds} s (speed measured, no history)`,
  async run(config, marker) {
    const { checks, coverage } = await compareWithinBudget(config, marker, { label: 'manifest', budgetSeconds });
    const failed = checks.filter((check) => check.status !== 'passed');
    if (failed.length > 0)
      throw new Error(`within a budget: ${failed.map((check) => `${check.name}: ${check.detail}`).join('; ')}`);
    process.stderr.write(
      `    budget ${budgetSeconds} s: ${coverage.mode}, ${(coverage.shareThisRun * 100).toFixed(1)} % of the rows checksummed (${coverage.covered.length} ranges) at an estimated ${(coverage.rowsPerSecond ?? 0).toLocaleString('en')} rows/s\n`,
    );
  },
});

/**
 * What compareWithMarker did before this work: per table one scan with the portable hash grouped by key
 * range, tables in parallel on the pool.
 */
const rangesPerTable: VerifyVariant = {
  name: 'before: rdsum-text-md5/1 grouped by key range, one scan per table',
  async run(config, marker) {
    const entries = Object.entries(marker.tables);
    await using pool = await openConnectionPool(config, {
      snapshot: 'none',
      size: Math.min(defaultPoolSize(), entries.length),
    });
    const sums = await pool.map(entries, (client, [name, table]) =>
      computeRangeSums(client, parseQualifiedName(name), table.ranges?.layout ?? hashLayout(null), table.bound),
    );
    sums.forEach((totals, i) => {
      const [name, table] = entries[i]!;
      if (totals.checksum !== table.checksum) throw new Error(`before: ${name} differs`);
    });
  },
};

/**
 * The variants, the first being the reference scan the targets compare with, the third restore-drill's
 * checksums; the fourth and fifth measure what object fingerprints add.
 */
export function verifyVariants(all: boolean, budgetSeconds?: number): VerifyVariant[] {
  const pool = defaultPoolSize();
  const main = [
    countScan(1),
    countScan(pool),
    comparison('restore-drill: typed checksums, tables in parallel', {}),
    asDrill(false),
    asDrill(true),
    beforeIdentity,
  ];
  if (budgetSeconds !== undefined) main.push(withinBudget(budgetSeconds));
  if (!all) return main;
  return [
    ...main,
    comparison('rdsum-record/1, large tables also in block ranges', { splitTables: true }),
    comparison('rdsum-text-md5/1 (portable), tables in parallel', { typed: false }),
    comparison('rdsum-text-md5/1 (portable), large tables also in block ranges', { typed: false, splitTables: true }),
    rangesPerTable,
  ];
}

/** Runs every variant once, starting with a different one each round; seconds by variant name. */
export async function verifyRound(
  config: pg.ClientConfig,
  marker: Marker,
  variants: readonly VerifyVariant[],
  round: number,
): Promise<Map<string, number>> {
  const times = new Map<string, number>();
  for (let i = 0; i < variants.length; i++) {
    const variant = variants[(i + round) % variants.length]!;
    const started = performance.now();
    await variant.run(config, marker);
    times.set(variant.name, (performance.now() - started) / 1000);
  }
  return times;
}
