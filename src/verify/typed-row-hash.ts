import pg from 'pg';
import { quoteTable, type TableRef } from './checksum-sql.ts';

/**
 * Name and version of the typed row hash: PostgreSQL's own `hash_record_extended` over the row's values.
 * Several times faster than printing and md5-ing each row, but PostgreSQL does not promise these hashes
 * stay the same across major versions (or byte orders), so a number is only comparable with one computed
 * by the same server major: markers record it with the major it was taken on, beside the portable
 * `rdsum-text-md5/1`. Bump the version on any change to {@link typedRowHashSql}'s column rules.
 */
export const TYPED_CHECKSUM_ALGORITHM = 'rdsum-record/1';

/** The first major with `hash_record_extended` (PostgreSQL 14). */
export const TYPED_HASH_MIN_MAJOR = 14;

/** How one column enters the typed row hash; see {@link typedRowHashSql}. */
export type TypedColumnRule = 'value' | 'numeric' | 'send' | 'text-bytes' | 'text';

/** A column of a table as the typed row hash sees it, in column order. */
export interface TypedColumn {
  readonly name: string;
  readonly rule: TypedColumnRule;
  /** The send function for rule `send` (e.g. `float8send`); the base type of a domain for `value` and `numeric`. */
  readonly cast?: string;
}

/**
 * Types hashed by their own hash function: for these, "equal" means the same data (a restore cannot turn
 * one into another), and the hash does not depend on the cluster. Not here, on purpose: enums and `oid`
 * (their hash is of an OID, which differs between clusters), numeric (1.0 = 1.00), float (0 = -0),
 * interval ('1 day' = '24 hours'), and every type without a hash function.
 */
const VALUE_TYPES = new Set([
  'bool', 'int2', 'int4', 'int8', 'text', 'varchar', 'bpchar', 'name', 'bytea', 'date', 'time', 'timestamp', 'timestamptz',
  'uuid', 'char', 'jsonb', 'inet', 'cidr', 'macaddr', 'macaddr8',
]);
/** Element types of arrays hashed by value (hash_array_extended hashes each element by its type). */
const ARRAY_ELEMENT_TYPES = new Set(['bool', 'int2', 'int4', 'int8', 'text', 'varchar', 'bytea', 'date', 'timestamp', 'timestamptz', 'uuid']);
/** Types whose binary send format is exact where their equality is not. */
const SEND_FUNCTIONS: Record<string, string> = { float4: 'float4send', float8: 'float8send', interval: 'interval_send' };
const TEXT_TYPES = new Set(['text', 'varchar', 'bpchar', 'name']);

/**
 * The columns of a table with the rule each enters the typed row hash by, from the catalog. Production and
 * the restored copy have the same column types (a restore recreates them), so both build the same hash.
 */
export async function readTypedColumns(client: pg.ClientBase, table: TableRef): Promise<TypedColumn[]> {
  const result = await client.query<{ name: string; type: string; base: string | null; element: string | null; deterministic: boolean }>(
    `select a.attname as name,
            case when t.typnamespace = 'pg_catalog'::regnamespace then t.typname end as type,
            case when t.typtype = 'd' and b.typtype <> 'd' and b.typnamespace = 'pg_catalog'::regnamespace then b.typname end as base,
            case when t.typcategory = 'A' and e.typtype = 'b' and e.typnamespace = 'pg_catalog'::regnamespace then e.typname end as element,
            coalesce((select c.collisdeterministic from pg_collation c where c.oid = a.attcollation), true) as deterministic
     from pg_attribute a
     join pg_type t on t.oid = a.atttypid
     left join pg_type b on b.oid = t.typbasetype
     left join pg_type e on e.oid = t.typelem
     where a.attrelid = $1::regclass and a.attnum > 0 and not a.attisdropped
     order by a.attnum`,
    [quoteTable(table)],
  );
  return result.rows.map((row) => columnRule(row.name, row.type, row.base, row.element, row.deterministic));
}

function columnRule(name: string, type: string | null, base: string | null, element: string | null, deterministic: boolean): TypedColumn {
  const scalar = type ?? base;
  if (scalar && TEXT_TYPES.has(scalar) && !deterministic) return { name, rule: 'text-bytes' };
  if (scalar && VALUE_TYPES.has(scalar)) return base ? { name, rule: 'value', cast: base } : { name, rule: 'value' };
  if (scalar === 'numeric') return base ? { name, rule: 'numeric', cast: base } : { name, rule: 'numeric' };
  if (scalar && SEND_FUNCTIONS[scalar]) return { name, rule: 'send', cast: SEND_FUNCTIONS[scalar] };
  if (element && ARRAY_ELEMENT_TYPES.has(element) && deterministic) return { name, rule: 'value' };
  return { name, rule: 'text' };
}

/**
 * The typed row hash as SQL over the row alias `r`: `hash_record_extended(row(…), 0)`, a signed 64-bit
 * integer. Each column enters as
 * - `value`: itself — bool, integers, text with a deterministic collation, bytea, dates and timestamps
 *   (timestamptz as the instant), uuid, jsonb (by jsonb equality: `{"a": 1.0}` equals `{"a": 1.00}`), …;
 * - `numeric`: its value and its `scale()`, so 1.0 and 1.00 differ;
 * - `send`: its binary send format — float (0 and -0 differ), interval ('1 day' and '24 hours' differ);
 * - `text-bytes`: `textsend(c)`, for text with a non-deterministic collation (whose hash ignores case, say);
 * - `text`: `c::text` — every other type (enums, arrays of other types, composites, json, xml, …).
 * A NULL column hashes as 0 and shifts the others, so NULL and '' (hashed as text) differ.
 */
export function typedRowHashSql(columns: readonly TypedColumn[], alias = 'r'): string {
  const fields = columns.map((column) => {
    const ref = `${alias}.${pg.escapeIdentifier(column.name)}`;
    switch (column.rule) {
      case 'value':
        // Quoted: the base type "char" is not char(1).
        return column.cast ? `${ref}::${pg.escapeIdentifier(column.cast)}` : ref;
      case 'numeric': {
        const value = column.cast ? `${ref}::${pg.escapeIdentifier(column.cast)}` : ref;
        return `${value}, scale(${value})`;
      }
      case 'send':
        return `${column.cast}(${ref})`;
      case 'text-bytes':
        return `textsend(${ref}::text)`;
      case 'text':
        return `${ref}::text`;
    }
  });
  // row() of no columns is an empty record; every row of a table without columns then hashes alike.
  return `hash_record_extended(row(${fields.join(', ')}), 0)`;
}
