import type pg from 'pg';
import { quoteTable, type BlockRange, type TableRef } from '../markers/checksum-sql.ts';

/** The first major with TID range scans (`ctid >= '(n,0)' and ctid < '(m,0)'` reads only those blocks). */
export const BLOCK_RANGE_MIN_MAJOR = 14;

/**
 * The number of heap blocks of a table, or null when it cannot be read in block ranges: a partitioned table
 * has no storage of its own, and before PostgreSQL 14 a ctid condition scans the whole table anyway.
 */
export async function tableBlocks(client: pg.ClientBase, table: TableRef, serverMajor: number): Promise<number | null> {
  if (table.partitioned || serverMajor < BLOCK_RANGE_MIN_MAJOR) return null;
  const result = await client.query<{ blocks: string }>(
    "select (pg_relation_size($1::regclass) / current_setting('block_size')::bigint)::text as blocks",
    [quoteTable(table)],
  );
  return Number(result.rows[0]!.blocks);
}

/**
 * Splits `blocks` heap blocks into at most `parts` ranges of at least `minBlocks` blocks each. The first range
 * is open at the start and the last at the end, so together they cover every row whatever the table's size.
 *
 * @example
 * splitBlocks(1000, 2, 100); // [{ from: null, to: 500 }, { from: 500, to: null }]
 */
export function splitBlocks(blocks: number, parts: number, minBlocks: number): BlockRange[] {
  const count = Math.max(1, Math.min(parts, Math.floor(blocks / Math.max(1, minBlocks))));
  const size = Math.ceil(blocks / count);
  return Array.from({ length: count }, (_, i) => ({
    from: i === 0 ? null : i * size,
    to: i === count - 1 ? null : (i + 1) * size,
  }));
}
