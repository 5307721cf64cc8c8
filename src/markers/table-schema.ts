import type pg from 'pg';
import type { CheckResult } from '../model/report.ts';
import type { QualifiedName, TableSchema } from '../model/marker.ts';
import { qualifiedName } from './checksum-sql.ts';

/**
 * Reads the schema of the given tables (or every user table outside `restore_drill`). Index and constraint
 * definitions come from `pg_get_indexdef` / `pg_get_constraintdef`, which print the same text for the same
 * definition on every PostgreSQL version restore-drill supports.
 *
 * @example
 * const schema = await readTableSchemas(client, ['public.orders']);
 * schema['public.orders'].indexes; // ['CREATE UNIQUE INDEX orders_pkey ON public.orders USING btree (id)', …]
 */
export async function readTableSchemas(
  client: pg.ClientBase,
  tables?: readonly QualifiedName[],
): Promise<Record<QualifiedName, TableSchema>> {
  // pg_get_*def qualify names by the search_path: pin it so production and restored copies print alike,
  // and put the caller's back (set_config, not SET LOCAL: this may run inside the marker's snapshot).
  const {
    rows: [saved],
  } = await client.query<{ path: string }>("select current_setting('search_path') as path");
  await client.query("select set_config('search_path', 'pg_catalog', false)");
  let rows: { schema: string; name: string; kind: 'column' | 'index' | 'constraint'; text: string }[];
  try {
    ({ rows } = await client.query<{
      schema: string;
      name: string;
      kind: 'column' | 'index' | 'constraint';
      text: string;
    }>(
      `with t as (
       select c.oid, n.nspname, c.relname
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
       where c.relkind in ('r', 'p') and n.nspname not in ('pg_catalog', 'information_schema', 'restore_drill')
         and n.nspname not like 'pg\\_%' and not c.relispartition
     )
     select t.nspname as schema, t.relname as name, 'column' as kind,
            a.attname || ' ' || format_type(a.atttypid, a.atttypmod) || case when a.attnotnull then ' not null' else '' end as text
       from t join pg_attribute a on a.attrelid = t.oid and a.attnum > 0 and not a.attisdropped
     union all
     select t.nspname, t.relname, 'index', pg_get_indexdef(i.indexrelid) from t join pg_index i on i.indrelid = t.oid
     union all
     select t.nspname, t.relname, 'constraint', co.conname || ': ' || pg_get_constraintdef(co.oid)
       from t join pg_constraint co on co.conrelid = t.oid`,
    ));
  } finally {
    await client.query("select set_config('search_path', $1, false)", [saved!.path]);
  }
  const wanted = tables ? new Set(tables) : null;
  const result: Record<QualifiedName, { columns: string[]; indexes: string[]; constraints: string[] }> = {};
  for (const row of rows) {
    // Keyed like markers key tables: quoted when a name has a dot, so "a.b"."c" and "a"."b.c" stay apart.
    const table = qualifiedName(row);
    if (wanted && !wanted.has(table)) continue;
    const entry = (result[table] ??= { columns: [], indexes: [], constraints: [] });
    (row.kind === 'column' ? entry.columns : row.kind === 'index' ? entry.indexes : entry.constraints).push(row.text);
  }
  for (const entry of Object.values(result)) {
    entry.columns.sort();
    entry.indexes.sort();
    entry.constraints.sort();
  }
  return result;
}

/**
 * Compares the restored schema with the one a marker recorded: one `schema <table> (<label>)` check per
 * table, failed with the missing and unexpected columns, indexes and constraints named. A table missing
 * altogether is the business of the `table exists` check, so it is skipped here.
 */
export async function compareTableSchemas(
  client: pg.ClientBase,
  expected: Readonly<Record<QualifiedName, TableSchema>>,
  label: string,
): Promise<CheckResult[]> {
  const actual = await readTableSchemas(client, Object.keys(expected));
  return Object.entries(expected).map(([table, want]): CheckResult => {
    const name = `schema ${table} (${label})`;
    const have = actual[table];
    if (!have)
      return {
        name,
        status: 'skipped',
        expected: summary(want),
        actual: null,
        table,
        detail: `skipped: ${table} is not in the restored database`,
      };
    const problems: string[] = [];
    for (const kind of ['columns', 'indexes', 'constraints'] as const) {
      const missing = want[kind].filter((item) => !have[kind].includes(item));
      const extra = have[kind].filter((item) => !want[kind].includes(item));
      if (missing.length) problems.push(`missing ${kind}: ${missing.join('; ')}`);
      if (extra.length) problems.push(`unexpected ${kind}: ${extra.join('; ')}`);
    }
    return problems.length
      ? { name, status: 'failed', expected: summary(want), actual: summary(have), table, detail: problems.join(' | ') }
      : { name, status: 'passed', expected: summary(want), actual: summary(have), table };
  });
}

function summary(schema: TableSchema): string {
  return `${schema.columns.length} columns, ${schema.indexes.length} indexes, ${schema.constraints.length} constraints`;
}
