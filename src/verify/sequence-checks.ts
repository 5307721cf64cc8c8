import pg from 'pg';
import type { CheckResult } from '../model/report.ts';
import { qualifiedName, quoteTable } from '../markers/checksum-sql.ts';

/**
 * Checks every sequence that feeds a column (serial and identity columns) in the restored database: its
 * next value must be past the largest key already in the table, or the first insert after a real restore
 * fails with a duplicate key. Needs no marker: the restored data is its own reference.
 *
 * @example
 * checks.push(...(await sequenceChecks(client)));
 * // { name: 'sequence public.orders_id_seq', expected: '≥ 2000 (max public.orders.id)', actual: 5, status: 'failed' }
 */
export async function sequenceChecks(client: pg.ClientBase): Promise<CheckResult[]> {
  const { rows } = await client.query<{
    sequenceSchema: string;
    sequence: string;
    schema: string;
    table: string;
    column: string;
    last: string | null;
    increment: string;
  }>(
    `select sn.nspname as "sequenceSchema", sc.relname as sequence, tn.nspname as schema, t.relname as table, a.attname as column,
            s.last_value::text as last, s.increment_by::text as increment
     from pg_sequences s
     join pg_namespace sn on sn.nspname = s.schemaname
     join pg_class sc on sc.relnamespace = sn.oid and sc.relname = s.sequencename
     join pg_depend d on d.classid = 'pg_class'::regclass and d.objid = sc.oid and d.refclassid = 'pg_class'::regclass and d.deptype in ('a', 'i')
     join pg_class t on t.oid = d.refobjid
     join pg_namespace tn on tn.oid = t.relnamespace
     join pg_attribute a on a.attrelid = t.oid and a.attnum = d.refobjsubid
     where tn.nspname not in ('restore_drill', 'pg_catalog', 'information_schema')
     order by 1, 2`,
  );
  const checks: CheckResult[] = [];
  for (const row of rows) {
    // Named like markers name tables: quoted when a schema or name has a dot, so two never look alike.
    const sequence = qualifiedName({ schema: row.sequenceSchema, name: row.sequence });
    const table = qualifiedName({ schema: row.schema, name: row.table });
    const {
      rows: [max],
    } = await client.query<{ max: string | null }>(
      `select max(${pg.escapeIdentifier(row.column)})::text as max from ${quoteTable({ schema: row.schema, name: row.table })}`,
    );
    const descending = BigInt(row.increment) < 0n;
    const expected =
      max?.max == null
        ? 'any (table is empty)'
        : `${descending ? '≤' : '≥'} ${max.max} (${descending ? 'min' : 'max'} ${table}.${row.column})`;
    const ok =
      max?.max == null ||
      (row.last !== null && (descending ? BigInt(row.last) <= BigInt(max.max) : BigInt(row.last) >= BigInt(max.max)));
    checks.push({
      name: `sequence ${sequence}`,
      status: ok ? 'passed' : 'failed',
      expected,
      actual: row.last ?? 'never used',
      table,
      ...(ok
        ? {}
        : {
            detail: `the next insert into ${table} would reuse an existing ${row.column}: the sequence is behind the data`,
          }),
    });
  }
  return checks;
}
