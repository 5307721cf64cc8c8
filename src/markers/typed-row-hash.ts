import pg from 'pg';
import { quoteTable, type TableRef } from './checksum-sql.ts';

/**
 * Name and version of the typed row hash: PostgreSQL's own `hash_record_extended` over the row's values,
 * each column entered so that any change of its stored representation changes the hash (see
 * {@link typedRowHashSql}). Several times faster than printing and md5-ing each row, but PostgreSQL does not
 * promise these hashes stay the same across major versions (or byte orders), so a number is only comparable
 * with one computed by the same server major: markers record it with the major it was taken on, beside the
 * portable `rdsum-text-md5/1`. Bump the version on any change to {@link typedRowHashSql}'s column rules.
 *
 * `/1` followed each type's equality for arrays (dimensions and lower bounds were not hashed), bare `bpchar`
 * (trailing spaces) and varchar/bpchar under a non-deterministic collation; markers that only carry `/1` are
 * verified with the portable checksum instead. `/2` hashed jsonb by value (`2.0` inside a document equals `2`);
 * `/3` hashes it by its send format, which prints every number as stored. A `/2` checksum is still compared
 * for tables without a jsonb column, where its SQL is `/3`'s (see {@link columnsHashedOtherwise}).
 *
 * @example
 * const typed = { algorithm: TYPED_CHECKSUM_ALGORITHM, serverMajor: 15, checksum: totals.typedChecksum };
 */
export const TYPED_CHECKSUM_ALGORITHM = 'rdsum-record/3';

/** The typed algorithms a marker may carry whose checksums can still be compared (see {@link columnsHashedOtherwise}). */
export type ComparableTypedAlgorithm = 'rdsum-record/2' | typeof TYPED_CHECKSUM_ALGORITHM;

/**
 * Whether a marker's typed checksum by `algorithm` can be compared at all: `/2` and `/3`, not `/1` (whose
 * rules followed equality for arrays, bpchar and collations) nor any unknown name.
 *
 * @example
 * if (marker.typed && isComparableTypedAlgorithm(marker.typed.algorithm)) { ... }
 */
export function isComparableTypedAlgorithm(algorithm: string | undefined): algorithm is ComparableTypedAlgorithm {
  return algorithm === TYPED_CHECKSUM_ALGORITHM || algorithm === 'rdsum-record/2';
}

/** The first major with `hash_record_extended` (PostgreSQL 14). */
export const TYPED_HASH_MIN_MAJOR = 14;

/**
 * How one column enters the typed row hash; see {@link typedRowHashSql}. `unsafe`: its type prints with a
 * function that is not trusted to run (see {@link readTypedColumns}); a table with such a column gets no
 * checksum at all.
 */
export type TypedColumnRule = 'value' | 'numeric' | 'send' | 'text' | 'unsafe';

/** A column of a table as the typed row hash sees it, in column order. */
export interface TypedColumn {
  readonly name: string;
  readonly rule: TypedColumnRule;
  /** The send function for rule `send` (e.g. `float8send`); the base type of a domain for `value`, `numeric` and `send`. */
  readonly cast?: string;
  /** For rule `send` of a domain: the built-in base type the value is cast to before its send function. */
  readonly base?: string;
  /** For rule `unsafe`: which type prints with which function, e.g. `app.money2 (output app.money2_out)`. */
  readonly reason?: string;
}

/**
 * Types hashed by their own hash function: for these, "equal" means the same stored bytes (a restore cannot
 * turn one into another), and the hash does not depend on the cluster. Not here: enums and `oid` (their hash is
 * of an OID, which differs between clusters), numeric (1.0 = 1.00), float (0 = -0), interval ('1 day' =
 * '24 hours'), a bare bpchar (trailing spaces), arrays (their hash ignores dimensions and lower bounds), jsonb
 * (a number inside a document compares by value: 2.0 = 2), and every type without a hash function.
 */
const VALUE_TYPES = new Set([
  'bool',
  'int2',
  'int4',
  'int8',
  'text',
  'varchar',
  'name',
  'bytea',
  'date',
  'time',
  'timestamp',
  'timestamptz',
  'uuid',
  'char',
  'inet',
  'cidr',
  'macaddr',
  'macaddr8',
]);
/**
 * Types whose binary send format is exact where their equality is not. jsonb's is a version byte and the
 * document as `jsonb_out` prints it — every number with its stored scale; printing is the cost (measured in
 * docs/performance.md), and it is the only built-in way to see a number's scale inside a document.
 */
const SEND_FUNCTIONS: Record<string, string> = {
  float4: 'float4send',
  float8: 'float8send',
  interval: 'interval_send',
  bpchar: 'bpcharsend',
  jsonb: 'jsonb_send',
};
/** Send functions of the string types, for a non-deterministic collation (whose equality ignores case, say). */
const STRING_SEND_FUNCTIONS: Record<string, string> = {
  text: 'textsend',
  varchar: 'varcharsend',
  bpchar: 'bpcharsend',
  name: 'namesend',
};

/** Element types of arrays hashed by `array_send`: those whose own send format is cluster-independent. */
const ARRAY_ELEMENT_TYPES: ReadonlySet<string> = new Set([...VALUE_TYPES, 'numeric', ...Object.keys(SEND_FUNCTIONS)]);

/**
 * The first OID a user object can get (`FirstNormalObjectId`): below it, everything was made by initdb.
 */
export const FIRST_NORMAL_OBJECT_ID = 16384;

/**
 * SQL condition "the function `p` is trusted to run with the caller's rights": built-in (made by initdb), or
 * written in C / internal (only a superuser can create those: they are code installed on the server, such as an
 * extension's) and owned by a superuser (so no other role can replace it).
 */
export const TRUSTED_FUNCTION_SQL = `(p.oid < ${FIRST_NORMAL_OBJECT_ID} or (p.prolang in (12, 13) and exists (select 1 from pg_catalog.pg_roles o where o.oid = p.proowner and o.rolsuper)))`;

/**
 * One catalog query for any number of tables (`$1` schemas and `$2` names, side by side): per column, its type
 * with domains resolved, and the first type reachable from it (through domains, array elements, composite
 * fields, range subtypes) whose output function is not trusted. A name that is not a relation has no rows.
 */
const COLUMNS_SQL = `
with recursive rels as (
  select c.oid as relid, t.ord
  from rows from (pg_catalog.unnest($1::pg_catalog.text[]), pg_catalog.unnest($2::pg_catalog.text[])) with ordinality as t(schema, name, ord)
  join pg_catalog.pg_namespace n on n.nspname = t.schema
  join pg_catalog.pg_class c on c.relnamespace = n.oid and c.relname = t.name
), cols as (
  select rels.ord, a.attrelid, a.attnum, a.attname, a.atttypid, a.atttypmod, a.attcollation
  from rels join pg_catalog.pg_attribute a on a.attrelid = rels.relid
  where a.attnum > 0 and not a.attisdropped
), base(attrelid, attnum, typ) as (
  select attrelid, attnum, atttypid from cols
  union all
  select b.attrelid, b.attnum, t.typbasetype from base b join pg_catalog.pg_type t on t.oid = b.typ where t.typtype = 'd'
), reach(attrelid, attnum, typ) as (
  select attrelid, attnum, atttypid from cols
  union
  select r.attrelid, r.attnum, x.typ
  from reach r
  join pg_catalog.pg_type t on t.oid = r.typ
  cross join lateral (
    select t.typbasetype as typ where t.typtype = 'd'
    union all select t.typelem where t.typelem <> 0 and t.typlen = -1
    union all select f.atttypid from pg_catalog.pg_attribute f where t.typrelid <> 0 and f.attrelid = t.typrelid and f.attnum > 0 and not f.attisdropped
    union all select g.rngsubtype from pg_catalog.pg_range g where g.rngtypid = t.oid
    -- a multirange's range (PostgreSQL 14+: read through to_jsonb, so the query also runs on 13)
    union all select g.rngtypid from pg_catalog.pg_range g where (pg_catalog.to_jsonb(g) ->> 'rngmultitypid')::pg_catalog.oid = t.oid
  ) x
), unsafe as (
  -- Per column one untrusted type it reaches (a join, not a subquery per column: with a thousand tables the
  -- reach list is long).
  select distinct on (r.attrelid, r.attnum) r.attrelid, r.attnum,
         pg_catalog.format_type(t.oid, null) || ' (output ' || p.oid::pg_catalog.regprocedure::pg_catalog.text || ')' as reason
  from reach r join pg_catalog.pg_type t on t.oid = r.typ join pg_catalog.pg_proc p on p.oid = t.typoutput
  where not ${TRUSTED_FUNCTION_SQL}
  order by r.attrelid, r.attnum, t.oid
)
-- one row per table found (attnum 0, no name), so a table without columns is told from a missing one
select rels.ord::int as ord, 0 as attnum, null as name, null as type, null as domain, null as sized, null as element,
       null as deterministic, null as unsafe
from rels
union all
select c.ord::int, c.attnum::int, c.attname,
       case when bt.oid < ${FIRST_NORMAL_OBJECT_ID} and bt.typnamespace = 'pg_catalog'::pg_catalog.regnamespace then bt.typname end as type,
       c.atttypid <> bt.oid as domain,
       c.atttypmod >= 0 or (select d.typtypmod >= 0 from pg_catalog.pg_type d where d.oid = c.atttypid) as sized,
       case when bt.typlen = -1 and e.oid < ${FIRST_NORMAL_OBJECT_ID} and e.typsend <> 0 then e.typname end as element,
       coalesce((select k.collisdeterministic from pg_catalog.pg_collation k where k.oid = c.attcollation), true) as deterministic,
       u.reason as unsafe
from cols c
join base bb on bb.attrelid = c.attrelid and bb.attnum = c.attnum
join pg_catalog.pg_type bt on bt.oid = bb.typ and bt.typtype <> 'd'
left join pg_catalog.pg_type e on e.oid = bt.typelem
left join unsafe u on u.attrelid = c.attrelid and u.attnum = c.attnum
order by 1, 2`;

/**
 * The columns of a table with the rule each enters the typed row hash by, from the catalog. Production and
 * the restored copy have the same column types (a restore recreates them), so both build the same hash. A
 * column whose type (or a type inside it: an element, a field, a subtype) prints with an output function that
 * is not trusted to run — neither built-in nor C code owned by a superuser — gets the rule `unsafe`: printing
 * it could run another role's code with the caller's rights. Throws when the table does not exist.
 */
export async function readTypedColumns(client: pg.ClientBase, table: TableRef): Promise<TypedColumn[]> {
  const columns = (await readTypedColumnsOfTables(client, [table]))[0];
  if (columns === undefined) throw new Error(`relation ${quoteTable(table)} does not exist`);
  return columns;
}

/**
 * {@link readTypedColumns} for many tables in one catalog query (a database of a thousand small tables would
 * otherwise pay a round trip and a recursive query per table). The result is in the order of `tables`:
 * undefined for a table that does not exist.
 *
 * @example
 * const [orders, lines] = await readTypedColumnsOfTables(client, [ordersRef, linesRef]);
 */
export async function readTypedColumnsOfTables(
  client: pg.ClientBase,
  tables: readonly TableRef[],
): Promise<Array<TypedColumn[] | undefined>> {
  const result = await client.query<ColumnRow | TableRow>(COLUMNS_SQL, [
    tables.map((table) => table.schema),
    tables.map((table) => table.name),
  ]);
  const found: Array<TypedColumn[] | undefined> = tables.map(() => undefined);
  for (const row of result.rows) {
    const columns = (found[row.ord - 1] ??= []);
    if (row.name !== null) columns.push(columnRule(row));
  }
  return found;
}

/** The row that says a table exists (before its columns). */
interface TableRow {
  ord: number;
  name: null;
}

interface ColumnRow {
  ord: number;
  name: string;
  type: string | null;
  domain: boolean;
  /** The length is part of the type (`char(2)`): a bpchar is then always padded to it. */
  sized: boolean;
  element: string | null;
  deterministic: boolean;
  unsafe: string | null;
}

function columnRule(row: ColumnRow): TypedColumn {
  const { name, type, domain, element, deterministic } = row;
  if (row.unsafe !== null) return { name, rule: 'unsafe', reason: row.unsafe };
  const base = domain && type ? { cast: type } : {};
  if (type && !deterministic && STRING_SEND_FUNCTIONS[type])
    return { name, rule: 'send', cast: STRING_SEND_FUNCTIONS[type], ...(domain ? { base: type } : {}) };
  // char(n) is stored padded to n, so its value (which ignores trailing spaces) is its bytes; a bare bpchar
  // keeps the spaces it was given, which only its send format shows.
  if (type === 'bpchar' && row.sized) return { name, rule: 'value', ...base };
  if (type && VALUE_TYPES.has(type)) return { name, rule: 'value', ...base };
  if (type === 'numeric') return { name, rule: 'numeric', ...base };
  if (type && SEND_FUNCTIONS[type])
    return { name, rule: 'send', cast: SEND_FUNCTIONS[type], ...(domain ? { base: type } : {}) };
  // An array of a built-in element: array_send has the dimensions, the lower bounds, the NULLs and every
  // element's own send format (exact where the element's equality is not: -0, numeric scale, case).
  // Only elements whose send format is the same data on any cluster: not oid or reg* (an OID), printed instead.
  if (element && ARRAY_ELEMENT_TYPES.has(element))
    return { name, rule: 'send', cast: 'array_send', ...(domain && type ? { base: type } : {}) };
  return { name, rule: 'text' };
}

/**
 * The columns of a table that a marker's typed checksum by `algorithm` hashed otherwise than
 * {@link typedRowHashSql} does today: for `rdsum-record/2`, the jsonb columns (and domains over jsonb), which
 * it took by value; for an algorithm that is not comparable ({@link isComparableTypedAlgorithm}), every column.
 * Empty when today's SQL computes the marker's numbers — then the marker's typed checksum is compared; else the
 * table falls back to the portable checksum, which sees every number's scale.
 *
 * @example
 * columnsHashedOtherwise(await readTypedColumns(client, table), 'rdsum-record/2'); // ['shipping']
 */
export function columnsHashedOtherwise(columns: readonly TypedColumn[], algorithm: string): string[] {
  if (algorithm === TYPED_CHECKSUM_ALGORITHM) return [];
  if (algorithm === 'rdsum-record/2')
    return columns
      .filter((column) => column.rule === 'send' && column.cast === SEND_FUNCTIONS.jsonb)
      .map((column) => column.name);
  return columns.map((column) => column.name); // an algorithm this version cannot compute at all
}

/** The columns of `columns` whose type cannot be printed safely, as `name: reason`; empty when every one can. */
export function unsafeColumns(columns: readonly TypedColumn[]): string[] {
  return columns.filter((column) => column.rule === 'unsafe').map((column) => `${column.name}: ${column.reason}`);
}

/**
 * The typed row hash as SQL over the row alias `r`: `hash_record_extended(row(…), 0)`, a signed 64-bit
 * integer. Each column enters as
 * - `value`: itself — bool, integers, text/varchar/name and char(n) with a deterministic collation, bytea,
 *   dates and timestamps (timestamptz as the instant), uuid, inet, `"char"`, …: types whose equality is byte
 *   identity;
 * - `numeric`: its value and its `scale()`, so 1.0 and 1.00 differ;
 * - `send`: its binary send format — float (0 and -0 differ, a NaN's payload shows), interval ('1 day' and
 *   '24 hours' differ), a bare bpchar (trailing spaces count), strings under a non-deterministic collation
 *   (case counts), jsonb (`2.0` and `2` inside a document differ), arrays of built-in elements (dimensions and
 *   lower bounds count);
 * - `text`: its text by its type's own output function (`record_out` of a one-column row, never a cast, so no
 *   user-defined cast runs) — every other type (enums, arrays of user types, composites, ranges, json, xml, …).
 * A NULL column hashes as 0 and shifts the others, so NULL and '' differ. Throws on an `unsafe` column.
 * Every function is schema-qualified: nothing resolves through a search_path.
 */
export function typedRowHashSql(columns: readonly TypedColumn[], alias = 'r'): string {
  const fields = columns.map((column) => {
    const ref = `${alias}.${pg.escapeIdentifier(column.name)}`;
    switch (column.rule) {
      case 'value':
        // Quoted: the base type "char" is not char(1).
        return column.cast ? `${ref}::pg_catalog.${pg.escapeIdentifier(column.cast)}` : ref;
      case 'numeric': {
        const value = column.cast ? `${ref}::pg_catalog.${pg.escapeIdentifier(column.cast)}` : ref;
        return `${value}, pg_catalog.scale(${value})`;
      }
      case 'send':
        return `pg_catalog.${column.cast}(${column.base ? `${ref}::pg_catalog.${pg.escapeIdentifier(column.base)}` : ref})`;
      case 'text':
        return `pg_catalog.textin(pg_catalog.record_out(row(${ref})))`;
      case 'unsafe':
        throw new Error(`column ${column.name} cannot be hashed: ${column.reason}`);
    }
  });
  // row() of no columns is an empty record; every row of a table without columns then hashes alike.
  return `pg_catalog.hash_record_extended(row(${fields.join(', ')}), 0)`;
}
