import type pg from 'pg';
import type { TableRef } from '../markers/checksum-sql.ts';
import { FIRST_NORMAL_OBJECT_ID } from '../markers/typed-row-hash.ts';

/** What the comparison must know of a restored table before it sums it. */
export interface RestoredTableFacts {
  /** A partitioned table: its rows are read through its partitions (no `only`). */
  readonly partitioned: boolean;
  /**
   * Its columns whose type is not built-in (a domain over a built-in type counts as built-in), in column order,
   * each `described` as `name type`: a key column among them makes its casts and operators anyone's functions.
   */
  readonly nonBuiltin: ReadonlyArray<{ readonly name: string; readonly described: string }>;
}

/** One catalog query for any number of tables (`$1` schemas and `$2` names, side by side); ordinary and partitioned tables only. */
const FACTS_SQL = `
select t.ord::int as ord, c.relkind = 'p' as partitioned,
  coalesce((
    select pg_catalog.json_agg(pg_catalog.json_build_object(
             'name', a.attname,
             'described', pg_catalog.quote_ident(a.attname) || ' ' || pg_catalog.format_type(a.atttypid, a.atttypmod))
           order by a.attnum)
    from pg_catalog.pg_attribute a
    join pg_catalog.pg_type ty on ty.oid = a.atttypid
    left join pg_catalog.pg_type b on b.oid = ty.typbasetype
    where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
      and not (ty.oid < ${FIRST_NORMAL_OBJECT_ID} or (ty.typtype = 'd' and b.oid < ${FIRST_NORMAL_OBJECT_ID}))
  ), '[]') as non_builtin
from rows from (pg_catalog.unnest($1::pg_catalog.text[]), pg_catalog.unnest($2::pg_catalog.text[])) with ordinality as t(schema, name, ord)
join pg_catalog.pg_namespace n on n.nspname = t.schema
join pg_catalog.pg_class c on c.relnamespace = n.oid and c.relname = t.name and c.relkind in ('r', 'p')`;

/**
 * {@link RestoredTableFacts} of many tables in one catalog query, in the order of `tables`: undefined for one that
 * is not an ordinary or partitioned table of the restored database. A database of a thousand small tables
 * would otherwise pay two round trips per table before its checksum.
 *
 * @example
 * const [orders] = await readRestoredTables(client, [{ schema: 'public', name: 'orders' }]);
 * if (!orders) … // not restored
 */
export async function readRestoredTables(
  client: pg.ClientBase,
  tables: readonly TableRef[],
): Promise<Array<RestoredTableFacts | undefined>> {
  const { rows } = await client.query<{
    ord: number;
    partitioned: boolean;
    non_builtin: Array<{ name: string; described: string }>;
  }>(FACTS_SQL, [tables.map((t) => t.schema), tables.map((t) => t.name)]);
  const facts: Array<RestoredTableFacts | undefined> = tables.map(() => undefined);
  for (const row of rows) facts[row.ord - 1] = { partitioned: row.partitioned, nonBuiltin: row.non_builtin };
  return facts;
}
