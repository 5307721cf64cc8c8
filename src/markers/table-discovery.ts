import type pg from 'pg';
import { ConfigError } from '../errors.ts';
import { parseQualifiedName, qualifiedName, type TableRef } from './checksum-sql.ts';
import type { MarkerMode, QualifiedName } from '../model/marker.ts';

/** Allowed relative difference of a `count`-mode row count: ±10 %. */
export const COUNT_TOLERANCE = 0.1;

/** Modes a marker can record, as accepted by `--table NAME:MODE`. */
export const MARKER_MODES: readonly MarkerMode[] = ['append-only', 'exact', 'count'];

/** A user table as found in the catalog. */
export interface TableInfo extends TableRef {
  /** Primary key columns in key order, with their types (`format_type`); empty without a primary key. */
  readonly primaryKey: ReadonlyArray<{ readonly name: string; readonly type: string }>;
  /** The primary key column when the key is a single built-in smallint/integer/bigint column, else null. */
  readonly integerKey: string | null;
  /**
   * Every primary key column is of a built-in type (a domain over one counts): only then is the key printed to
   * bucket rows by it, since a cast of a user type to text may be a user-defined function.
   */
  readonly builtinKey: boolean;
  /** Rows updated and deleted since statistics were last reset (`pg_stat_user_tables`). */
  readonly updates: number;
  readonly deletes: number;
}

/** A table and the mode its marker is taken in. */
export interface TablePlan {
  readonly table: TableInfo;
  readonly mode: MarkerMode;
}

/** Which tables to mark and how; see {@link planTables}. */
export interface TableSelection {
  /**
   * `name` (schema `public`), `schema.name` (split at the first dot) or `"schema"."name"` (quoted, for names
   * with a dot); case-sensitive. Named twice, a later NAME:MODE wins.
   */
  readonly name: string;
  /** Default: the pool-wide `mode` option, else chosen automatically. */
  readonly mode?: MarkerMode | 'auto';
}

/**
 * Lists the user tables a marker covers, sorted by schema and name:
 * - ordinary tables (also unlogged ones: pg_dump dumps their data) and partitioned tables; a partitioned
 *   table is counted as a whole and its partitions are not listed separately (a restore recreates them);
 *   a table with inheritance children is counted by its own rows and each child on its own;
 * - not: system schemas, `restore_drill` (the markers themselves), temporary tables, tables that belong to
 *   an extension (created by `CREATE EXTENSION`, not by the application), views, materialized views and
 *   foreign tables.
 */
export async function discoverTables(client: pg.ClientBase): Promise<TableInfo[]> {
  const result = await client.query<{
    schema: string;
    name: string;
    partitioned: boolean;
    pk: Array<{ name: string; type: string; base: string | null; builtin: boolean }>;
    updates: string;
    deletes: string;
  }>(DISCOVERY_SQL);
  return result.rows.map((row) => {
    const only = row.pk.length === 1 ? row.pk[0]! : undefined;
    return {
      schema: row.schema,
      name: row.name,
      partitioned: row.partitioned,
      primaryKey: row.pk.map(({ name, type }) => ({ name, type })),
      integerKey: only && only.base !== null && INTEGER_TYPES.has(only.base) ? only.name : null,
      builtinKey: row.pk.every((column) => column.builtin),
      updates: Number(row.updates),
      deletes: Number(row.deletes),
    };
  });
}

const INTEGER_TYPES = new Set(['int2', 'int4', 'int8']);

const DISCOVERY_SQL = `
select n.nspname as schema, c.relname as name, c.relkind = 'p' as partitioned,
  coalesce((
    -- base: the type's name only when it is pg_catalog's own (a user's type may be called int4 too)
    select json_agg(json_build_object('name', a.attname, 'type', format_type(a.atttypid, a.atttypmod),
                                      'base', case when t.oid < 16384 then t.typname end,
                                      'builtin', t.oid < 16384 or (t.typtype = 'd' and b.oid < 16384)) order by k.ord)
    from pg_index i
    cross join lateral unnest(i.indkey) with ordinality as k(attnum, ord)
    join pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum
    join pg_type t on t.oid = a.atttypid
    left join pg_type b on b.oid = t.typbasetype
    where i.indrelid = c.oid and i.indisprimary
  ), '[]') as pk,
  -- pg_stat_user_tables' own functions, called per table: a subquery on the view read all of it for each table
  -- (a second per table on a database of a thousand). A partitioned table has no statistics of its own: its
  -- partitions' add up.
  (case when c.relkind = 'p'
        then (select coalesce(sum(pg_catalog.pg_stat_get_tuples_updated(p.relid)), 0) from pg_catalog.pg_partition_tree(c.oid) p)
        else pg_catalog.pg_stat_get_tuples_updated(c.oid) end)::text as updates,
  (case when c.relkind = 'p'
        then (select coalesce(sum(pg_catalog.pg_stat_get_tuples_deleted(p.relid)), 0) from pg_catalog.pg_partition_tree(c.oid) p)
        else pg_catalog.pg_stat_get_tuples_deleted(c.oid) end)::text as deletes
from pg_class c
join pg_namespace n on n.oid = c.relnamespace
where c.relkind in ('r', 'p')
  and not c.relispartition
  and c.relpersistence <> 't'
  and n.nspname not in ('pg_catalog', 'information_schema', 'restore_drill')
  and n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
  and not exists (select 1 from pg_depend d
                  where d.classid = 'pg_class'::regclass and d.objid = c.oid and d.deptype = 'e')
order by n.nspname, c.relname`;

/**
 * The mode chosen when none is asked for: `append-only` when the table has a single-column integer primary
 * key and `pg_stat_user_tables` shows no updates or deletes (rows are only ever added, so rows up to today's
 * largest key can be compared exactly later); otherwise `count` (row count within ±10 %). `exact` is never
 * chosen automatically: an in-database marker is older than the backup it is found in, and any table that
 * changed in between would fail. Statistics are reset by `pg_stat_reset()` and after a crash, so the choice is
 * a guess; pin a table's mode with `--table NAME:MODE` when it matters.
 */
export function chooseMode(table: TableInfo): MarkerMode {
  return table.integerKey && table.updates === 0 && table.deletes === 0 ? 'append-only' : 'count';
}

/**
 * Parses a `--table` argument: `NAME` or `NAME:MODE`, where NAME is `table` or `schema.table`.
 *
 * @example
 * parseTableSelection('events:append-only'); // { name: 'events', mode: 'append-only' }
 */
export function parseTableSelection(argument: string): TableSelection {
  const colon = argument.lastIndexOf(':');
  if (colon < 0) return { name: argument };
  const name = argument.slice(0, colon);
  const mode = argument.slice(colon + 1);
  if (!(MARKER_MODES as readonly string[]).includes(mode) && mode !== 'auto') {
    throw new ConfigError(
      `unknown marker mode "${mode}" in --table ${argument}`,
      `use one of ${MARKER_MODES.join(', ')} (or leave it out to choose automatically)`,
    );
  }
  if (!name)
    throw new ConfigError(
      `--table ${argument} names no table`,
      'write --table NAME or --table NAME:MODE, e.g. --table public.orders:count',
    );
  return { name, mode: mode as MarkerMode | 'auto' };
}

/** Options of {@link planTables}. */
export interface PlanOptions {
  /** Tables to mark; default every discovered table. */
  readonly tables?: readonly TableSelection[];
  /** Mode for tables without their own; default `auto` ({@link chooseMode}). */
  readonly mode?: MarkerMode | 'auto';
  /** Every table `exact`, whatever else was asked (dump manifests: taken in the dump's own snapshot). */
  readonly forceExact?: boolean;
}

/**
 * Decides the mode of every table to mark. Throws a {@link ConfigError} for a table name that is not a user
 * table, and for `append-only` on a table without a single-column integer primary key.
 */
export function planTables(tables: readonly TableInfo[], options: PlanOptions = {}): TablePlan[] {
  const byName = new Map<QualifiedName, TableInfo>(tables.map((table) => [qualifiedName(table), table]));
  const selections: readonly TableSelection[] =
    options.tables ?? tables.map((table) => ({ name: qualifiedName(table) }));
  const plans = new Map<QualifiedName, TablePlan>();
  for (const selection of selections) {
    const key = qualifiedName(parseQualifiedName(selection.name));
    const table = byName.get(key);
    if (!table) {
      throw new ConfigError(
        `table ${key} not found among the user tables of this database`,
        'names are case-sensitive: write schema.table for tables outside public, "schema"."table" when a name has a dot (restore_drill, system and extension tables are never marked)',
      );
    }
    const wanted = options.forceExact ? 'exact' : (selection.mode ?? options.mode ?? 'auto');
    const mode = wanted === 'auto' ? chooseMode(table) : wanted;
    if (mode === 'append-only' && !table.integerKey) {
      const key =
        table.primaryKey.length === 0
          ? 'has no primary key'
          : `has the primary key (${table.primaryKey.map((c) => `${c.name} ${c.type}`).join(', ')})`;
      throw new ConfigError(
        `table ${qualifiedName(table)} cannot be marked append-only: it ${key}, and append-only needs a single smallint, integer or bigint key column`,
        `use ${qualifiedName(table)}:exact (the whole table must match) or ${qualifiedName(table)}:count (row count within ±${COUNT_TOLERANCE * 100} %)`,
      );
    }
    // Named twice: a later NAME:MODE overrides, a later bare NAME does not undo an explicit mode.
    if (plans.has(key) && selection.mode === undefined && !options.forceExact) continue;
    plans.set(key, { table, mode });
  }
  return [...plans.values()];
}
