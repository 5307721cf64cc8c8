import pg from 'pg';
import { ConfigError } from '../errors.ts';
import { ensureObjectsColumn, takeObjectFingerprint } from './object-fingerprint.ts';
import {
  CHECKSUM_ALGORITHM,
  computeRangeSums,
  countRows,
  hashLayout,
  integerLayout,
  keyRange,
  pinSessionSettings,
  qualifiedName,
  type RowBound,
} from './checksum-sql.ts';
import { openConnectionPool, setRole, type ConnectionPool } from './connection-pool.ts';
import { connectionFromUrl } from './connection-url.ts';
import { isoTimeSql } from './read-markers.ts';
import { emitWalMarker, readWalPosition } from './wal-marker.ts';
import type { Marker, QualifiedName, RangeLayout, StoredMarker, TableMarker } from '../model/marker.ts';
import { readTableSchemas } from './table-schema.ts';
import {
  readTypedColumns,
  readTypedColumnsOfTables,
  type TypedColumn,
  TYPED_CHECKSUM_ALGORITHM,
  TYPED_HASH_MIN_MAJOR,
  typedRowHashSql,
  unsafeColumns,
} from './typed-row-hash.ts';
import { COUNT_TOLERANCE, discoverTables, planTables, type PlanOptions, type TablePlan } from './table-discovery.ts';

/** Options of {@link takeMarker} and {@link writeMarker}. */
export interface TakeMarkerOptions extends PlanOptions {
  /** Connections computing tables in parallel; default min(4, CPU cores). */
  readonly poolSize?: number;
  /**
   * Run as this role (`SET ROLE` on every connection right after login), e.g. a read-only role with
   * `pg_read_all_data` that owns the `restore_drill` schema (docs/markers.md). Default: the login's own rights.
   */
  readonly role?: string;
}

/**
 * Takes a marker of a database without writing anything: every table's numbers (see {@link planTables} for
 * which tables and modes) computed in parallel inside one exported snapshot, so they all describe the same
 * committed state. `takenAt` is the start of that snapshot's transaction.
 *
 * `connection` is a `postgres://` URL or a `pg` client configuration.
 *
 * @example
 * const marker = await takeMarker(env.connectionConfig(), { tables: [{ name: 'events', mode: 'append-only' }] });
 */
export async function takeMarker(
  connection: string | pg.ClientConfig,
  options: TakeMarkerOptions = {},
): Promise<Marker> {
  await using pool = await openConnectionPool(clientConfigOf(connection), {
    snapshot: 'shared',
    size: options.poolSize,
    role: options.role,
  });
  return await markSnapshot(pool, options); // await: the pool closes when this scope exits
}

/**
 * Takes the marker of the pool's snapshot (opened with `snapshot: 'shared'`): lists the tables on the leader,
 * then measures them on all connections.
 */
export async function markSnapshot(pool: ConnectionPool, options: PlanOptions): Promise<Marker> {
  const plans = planTables(await discoverTables(pool.leader), options);
  const takenAt = (await pool.leader.query<{ t: string }>(`select ${isoTimeSql('now()')} as t`)).rows[0]!.t;
  const serverMajor = (
    await pool.leader.query<{ major: number }>("select current_setting('server_version_num')::int / 10000 as major")
  ).rows[0]!.major;
  // Every table's column types in one catalog query: one query per table dominated a database of many small ones.
  const columns = await readTypedColumnsOfTables(
    pool.leader,
    plans.map((plan) => plan.table),
  );
  // Every other object a restore must bring back (functions, views, triggers, policies, privileges, …), read
  // from the catalogs on the leader while the tables are measured.
  const [measured, objects] = await Promise.all([
    pool.map(
      plans.map((plan, index) => ({ plan, columns: columns[index] })),
      (client, { plan, columns }) =>
        measureTable(client, plan, { serverMajor, ...(columns ? { columns } : {}) }).catch((error: unknown) => {
          throw rowSecurityError(error, plan) ?? error;
        }),
    ),
    takeObjectFingerprint(pool.leader),
  ]);
  // The shape of each table (columns, indexes, constraints) too: a restore can lose an index with every row intact.
  const schemas = await readTableSchemas(
    pool.leader,
    plans.map((plan) => qualifiedName(plan.table)),
  );
  const tables: Record<QualifiedName, TableMarker> = {};
  plans.forEach((plan, index) => {
    const name = qualifiedName(plan.table);
    tables[name] = schemas[name] ? { ...measured[index]!, schema: schemas[name] } : measured[index]!;
  });
  return { takenAt, tables, objects };
}

/** A table read through a row-level security policy (refused by `row_security = off`), as one clear line. */
function rowSecurityError(error: unknown, plan: TablePlan): ConfigError | undefined {
  if ((error as { code?: string }).code !== '42501' || !/row-level security/.test((error as Error).message))
    return undefined;
  return new ConfigError(
    `table ${qualifiedName(plan.table)} has row-level security, and this role would read it through the policy (running its expressions with this role's rights)`,
    'give the marking role BYPASSRLS (pg_dump needs it too), or mark as the table owner',
  );
}

/**
 * `restore-drill mark`: writes a marker row into `restore_drill.markers` of the database and returns it.
 * Creates the schema and table when missing; then, in ONE REPEATABLE READ transaction, computes every table's
 * numbers (the other pool connections import its snapshot, read-only) and inserts the row, so the marker
 * describes exactly the state committed before it — and a backup that contains the marker contains at least
 * that state. `taken_at` is the transaction's `now()`, taken just before its snapshot: a marker never claims
 * data newer than it has. Nothing else is written. Before the insert, {@link assertMarkerTableSafe} makes sure
 * it can run no other role's code; nothing computed reads through a cast, a user's operator or a row-level
 * security policy (see typed-row-hash.ts).
 *
 * @example
 * const marker = await writeMarker('postgres://app:secret@db.internal/shop', { tables: [parseTableSelection('events:append-only')] });
 */
export async function writeMarker(
  connection: string | pg.ClientConfig,
  options: TakeMarkerOptions = {},
): Promise<StoredMarker> {
  const config = clientConfigOf(connection);
  const setup = new pg.Client(config);
  await setup.connect();
  try {
    if (options.role !== undefined) await setRole(setup, options.role);
    // Pinned: a search_path set on the database must not pick the types and the default's now() of the table.
    await pinSessionSettings(setup);
    await ensureMarkerTable(setup);
  } finally {
    await setup.end();
  }
  await using snapshot = await openConnectionPool(config, {
    snapshot: 'shared',
    size: options.poolSize,
    leaderWrites: true,
    role: options.role,
  });
  // Read first: the nearer the position is to the snapshot, the fewer commits can fall between them.
  const position = await readWalPosition(snapshot.leader);
  const marker = await markSnapshot(snapshot, options);
  const exactTables = position ? await measureInFull(snapshot, marker, options) : undefined;
  await assertMarkerTableSafe(snapshot.leader);
  const inserted = await snapshot.leader.query<{ id: string; taken_at: string }>(
    `insert into restore_drill.markers (tables, objects) values ($1, $2) returning id::text, ${isoTimeSql('taken_at')} as taken_at`,
    [JSON.stringify(marker.tables), JSON.stringify(marker.objects)],
  );
  if (position && exactTables)
    await emitWalMarker(snapshot.leader, { ...marker, id: inserted.rows[0]!.id }, position, exactTables);
  await snapshot.commit();
  return {
    id: inserted.rows[0]!.id,
    takenAt: inserted.rows[0]!.taken_at,
    tables: marker.tables,
    objects: marker.objects,
  };
}

/**
 * Every table of the marker in full, as the WAL marker records it: `count` tables (updated in place) are
 * measured like `exact` ones, `append-only` ones are `exact` already in their own snapshot (their bound is
 * the largest key). A table whose type cannot be printed safely keeps its row count.
 */
async function measureInFull(pool: ConnectionPool, marker: Marker, options: PlanOptions): Promise<Marker['tables']> {
  const plans = planTables(await discoverTables(pool.leader), options).filter(
    (plan) => marker.tables[qualifiedName(plan.table)]?.mode === 'count',
  );
  const serverMajor = (
    await pool.leader.query<{ major: number }>("select current_setting('server_version_num')::int / 10000 as major")
  ).rows[0]!.major;
  const measured = await pool.map(plans, (client, plan) =>
    measureTable(client, { ...plan, mode: 'exact' }, { serverMajor }),
  );
  const tables: Record<QualifiedName, TableMarker> = {};
  for (const [name, table] of Object.entries(marker.tables)) {
    const { bound: _bound, ...whole } = table;
    tables[name] = table.mode === 'append-only' ? { ...whole, mode: 'exact' } : table;
  }
  plans.forEach((plan, index) => {
    const name = qualifiedName(plan.table);
    const schema = marker.tables[name]?.schema;
    tables[name] = schema ? { ...measured[index]!, schema } : measured[index]!;
  });
  return tables;
}

/** A `postgres://` URL (parsed by {@link connectionFromUrl}) or a ready `pg` configuration. */
function clientConfigOf(connection: string | pg.ClientConfig): pg.ClientConfig {
  return typeof connection === 'string' ? connectionFromUrl(connection).clientConfig : connection;
}

/**
 * Locks `restore_drill.markers` against changes until the transaction ends, then checks that inserting into it
 * can run nobody's code: a plain table, owned by the current role or a superuser (no other role can change it),
 * with no triggers, rules, row-level security, constraints beyond its primary key, indexes beyond that key's,
 * inheritance, or columns of non-built-in types or with defaults calling non-built-in functions. A table made by
 * another role (one that created the schema first, say) could otherwise make the insert run its trigger with the
 * rights of whoever marks. Throws a {@link ConfigError} naming what is wrong.
 */
export async function assertMarkerTableSafe(
  client: pg.ClientBase,
  // Another restore_drill table (the attachment manifests) is checked the same way, with its own columns.
  table: { readonly name: string; readonly columns: readonly string[] } = {
    name: 'restore_drill.markers',
    columns: ['id', 'taken_at', 'tables', 'objects'],
  },
): Promise<void> {
  // SHARE ROW EXCLUSIVE conflicts with CREATE TRIGGER, CREATE INDEX, ALTER and DROP TABLE: what is checked stays so.
  await client.query(`lock table ${table.name} in share row exclusive mode`);
  const { rows } = await client.query<{ owner: string; problems: string[] }>(MARKER_TABLE_PROBLEMS_SQL, [
    table.name,
    table.columns,
  ]);
  const problems = rows[0]!.problems;
  if (problems.length > 0) {
    throw new ConfigError(
      `${table.name} cannot be trusted (owner ${rows[0]!.owner}): ${problems.join('; ')} — inserting into it could run another role's code`,
      'drop the restore_drill schema (or fix the table) and run mark again as the role that should own it',
    );
  }
}

const MARKER_TABLE_PROBLEMS_SQL = `
select pg_catalog.pg_get_userbyid(c.relowner) as owner, array_remove(array[
  case when c.relkind <> 'r' then 'it is not a plain table' end,
  case when c.relowner <> (select oid from pg_catalog.pg_roles where rolname = current_user)
        and not (select rolsuper from pg_catalog.pg_roles where oid = c.relowner)
       then 'it is owned by another role, who can add triggers to it' end,
  case when exists (select 1 from pg_catalog.pg_trigger t where t.tgrelid = c.oid) then 'it has triggers' end,
  case when exists (select 1 from pg_catalog.pg_rewrite w where w.ev_class = c.oid) then 'it has rules' end,
  case when c.relrowsecurity or exists (select 1 from pg_catalog.pg_policy p where p.polrelid = c.oid) then 'it has row-level security' end,
  case when exists (select 1 from pg_catalog.pg_constraint k where k.conrelid = c.oid and k.contype <> 'p') then 'it has constraints beside its primary key' end,
  case when exists (select 1 from pg_catalog.pg_index i where i.indrelid = c.oid and (not i.indisprimary or i.indexprs is not null or i.indpred is not null))
       then 'it has indexes beside its primary key' end,
  case when c.relhassubclass or c.relispartition or exists (select 1 from pg_catalog.pg_inherits h where h.inhrelid = c.oid) then 'it takes part in inheritance' end,
  case when exists (select 1 from pg_catalog.pg_attribute a where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
                    and (a.atttypid >= 16384 or a.attgenerated <> '' or a.attname <> all($2::text[])))
       then 'its columns are not the ones restore-drill made' end,
  case when exists (select 1 from pg_catalog.pg_attrdef d join pg_catalog.pg_depend dep
                      on dep.classid = 'pg_catalog.pg_attrdef'::pg_catalog.regclass and dep.objid = d.oid
                    where d.adrelid = c.oid and dep.refclassid = 'pg_catalog.pg_proc'::pg_catalog.regclass and dep.refobjid >= 16384)
       then 'a column default calls a function that is not built-in' end
], null) as problems
from pg_catalog.pg_class c where c.oid = $1::pg_catalog.regclass`;

/**
 * Creates `restore_drill.markers` when it does not exist yet: the schema needs CREATE on the database, the table
 * CREATE on the schema. Nothing is created that exists, so a role that owns a schema made for it needs no more.
 */
export async function ensureMarkerTable(client: pg.ClientBase): Promise<void> {
  const { rows } = await client.query<{ schema: boolean; table: boolean }>(
    "select to_regnamespace('restore_drill') is not null as schema, to_regclass('restore_drill.markers') is not null as table",
  );
  if (rows[0]!.table) return;
  if (!rows[0]!.schema) await client.query('create schema if not exists restore_drill');
  await client.query(
    'create table if not exists restore_drill.markers (id bigserial primary key, taken_at timestamptz not null default now(), tables jsonb not null)',
  );
  await ensureObjectsColumn(client);
}

/** Options of {@link measureTable}. */
export interface MeasureOptions {
  /**
   * Major version of the server (e.g. 15). From 14 on, the typed checksum `rdsum-record/3` is recorded
   * too, with this major; without it only the portable checksum is.
   */
  readonly serverMajor?: number;
  /** The table's columns as {@link readTypedColumnsOfTables} read them in the same snapshot; read here when absent. */
  readonly columns?: readonly TypedColumn[];
}

/**
 * The numbers of one table in the connection's current snapshot. `exact` and `append-only` tables with a
 * single integer key use the integer layout over today's key range (append-only: up to today's largest key,
 * the bound); other tables use the hash layout over their primary key, or over the whole row without one.
 */
export async function measureTable(
  client: pg.ClientBase,
  plan: TablePlan,
  options: MeasureOptions = {},
): Promise<TableMarker> {
  const { table, mode } = plan;
  if (mode === 'count')
    return { mode, algorithm: CHECKSUM_ALGORITHM, rows: await countRows(client, table), tolerance: COUNT_TOLERANCE };
  // Printing a column runs its type's output function with our rights: a table with a column whose output
  // function is not trusted gets a row count only, and says why (it is then listed as not verified).
  const columns = options.columns ?? (await readTypedColumns(client, table));
  const unsafe = unsafeColumns(columns);
  if (unsafe.length > 0) {
    return {
      mode: 'count',
      algorithm: CHECKSUM_ALGORITHM,
      rows: await countRows(client, table),
      tolerance: mode === 'exact' ? 0 : COUNT_TOLERANCE,
      notHashed: `no checksum: printing would run a function that is neither built-in nor a superuser's C code (${unsafe.join('; ')})`,
    };
  }
  let layout: RangeLayout;
  let bound: RowBound | undefined;
  if (table.integerKey) {
    const { min, max } = await keyRange(client, table, table.integerKey);
    layout = integerLayout(table.integerKey, min, max);
    if (mode === 'append-only') bound = { column: table.integerKey, value: max };
  } else {
    // A key of a user type is not printed to bucket rows (its cast to text could be anyone's function): the
    // whole row, printed by record_out, buckets them instead.
    layout = hashLayout(table.builtinKey ? table.primaryKey.map((column) => column.name) : null);
  }
  const { serverMajor } = options;
  if (serverMajor === undefined || serverMajor < TYPED_HASH_MIN_MAJOR) {
    const totals = await computeRangeSums(client, table, layout, bound);
    return {
      mode,
      algorithm: CHECKSUM_ALGORITHM,
      rows: totals.rows,
      checksum: totals.checksum,
      ...(bound ? { bound } : {}),
      ranges: { layout, sums: totals.sums },
    };
  }
  // Both checksums in one scan: the typed one makes a restore on the same major cheap to verify, the portable
  // one keeps every other major able to verify, and names the ranges that differ.
  const totals = await computeRangeSums(client, table, layout, bound, typedRowHashSql(columns));
  return {
    mode,
    algorithm: CHECKSUM_ALGORITHM,
    rows: totals.rows,
    checksum: totals.checksum,
    ...(bound ? { bound } : {}),
    ranges: { layout, sums: totals.sums },
    typed: { algorithm: TYPED_CHECKSUM_ALGORITHM, serverMajor, checksum: totals.typedChecksum },
  };
}
