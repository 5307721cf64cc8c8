import pg from 'pg';
import { ensureObjectsColumn, takeObjectFingerprint } from '../markers/object-fingerprint.ts';
import { CHECKSUM_ALGORITHM, computeRangeSums, countRows, hashLayout, integerLayout, keyRange, qualifiedName, type RowBound } from './checksum-sql.ts';
import { openConnectionPool, type ConnectionPool } from './connection-pool.ts';
import { connectionFromUrl } from './connection-url.ts';
import { isoTimeSql } from './read-markers.ts';
import type { Marker, QualifiedName, RangeLayout, StoredMarker, TableMarker } from './marker-model.ts';
import { readTableSchemas } from './table-schema.ts';
import { readTypedColumns, TYPED_CHECKSUM_ALGORITHM, TYPED_HASH_MIN_MAJOR, typedRowHashSql } from './typed-row-hash.ts';
import { COUNT_TOLERANCE, discoverTables, planTables, type PlanOptions, type TablePlan } from './table-discovery.ts';

/** Options of {@link takeMarker} and {@link writeMarker}. */
export interface TakeMarkerOptions extends PlanOptions {
  /** Connections computing tables in parallel; default min(4, CPU cores). */
  readonly poolSize?: number;
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
export async function takeMarker(connection: string | pg.ClientConfig, options: TakeMarkerOptions = {}): Promise<Marker> {
  await using pool = await openConnectionPool(clientConfigOf(connection), { snapshot: 'shared', size: options.poolSize });
  return await markSnapshot(pool, options); // await: the pool closes when this scope exits
}

/**
 * Takes the marker of the pool's snapshot (opened with `snapshot: 'shared'`): lists the tables on the leader,
 * then measures them on all connections.
 */
export async function markSnapshot(pool: ConnectionPool, options: PlanOptions): Promise<Marker> {
  const plans = planTables(await discoverTables(pool.leader), options);
  const takenAt = (await pool.leader.query<{ t: string }>(`select ${isoTimeSql('now()')} as t`)).rows[0]!.t;
  const serverMajor = (await pool.leader.query<{ major: number }>("select current_setting('server_version_num')::int / 10000 as major")).rows[0]!.major;
  // Every other object a restore must bring back (functions, views, triggers, policies, privileges, …), read
  // from the catalogs on the leader while the tables are measured.
  const [measured, objects] = await Promise.all([
    pool.map(plans, (client, plan) => measureTable(client, plan, { serverMajor })),
    takeObjectFingerprint(pool.leader),
  ]);
  // The shape of each table (columns, indexes, constraints) too: a restore can lose an index with every row intact.
  const schemas = await readTableSchemas(pool.leader, plans.map((plan) => qualifiedName(plan.table)));
  const tables: Record<QualifiedName, TableMarker> = {};
  plans.forEach((plan, index) => {
    const name = qualifiedName(plan.table);
    tables[name] = schemas[name] ? { ...measured[index]!, schema: schemas[name] } : measured[index]!;
  });
  return { takenAt, tables, objects };
}

/**
 * `restore-drill mark`: writes a marker row into `restore_drill.markers` of the database and returns it.
 * Creates the schema and table when missing; then, in ONE REPEATABLE READ transaction, computes every table's
 * numbers (the other pool connections import its snapshot, read-only) and inserts the row, so the marker
 * describes exactly the state committed before it — and a backup that contains the marker contains at least
 * that state. `taken_at` is the transaction's `now()`, taken just before its snapshot: a marker never claims
 * data newer than it has. Nothing else is written.
 *
 * @example
 * const marker = await writeMarker('postgres://app:secret@db.internal/shop', { tables: [parseTableSelection('events:append-only')] });
 */
export async function writeMarker(connection: string | pg.ClientConfig, options: TakeMarkerOptions = {}): Promise<StoredMarker> {
  const config = clientConfigOf(connection);
  const setup = new pg.Client(config);
  await setup.connect();
  try {
    await ensureMarkerTable(setup);
  } finally {
    await setup.end();
  }
  await using snapshot = await openConnectionPool(config, { snapshot: 'shared', size: options.poolSize, leaderWrites: true });
  const marker = await markSnapshot(snapshot, options);
  const inserted = await snapshot.leader.query<{ id: string; taken_at: string }>(
    `insert into restore_drill.markers (tables, objects) values ($1, $2) returning id::text, ${isoTimeSql('taken_at')} as taken_at`,
    [JSON.stringify(marker.tables), JSON.stringify(marker.objects)],
  );
  await snapshot.commit();
  return { id: inserted.rows[0]!.id, takenAt: inserted.rows[0]!.taken_at, tables: marker.tables, objects: marker.objects };
}

/** A `postgres://` URL (parsed by {@link connectionFromUrl}) or a ready `pg` configuration. */
function clientConfigOf(connection: string | pg.ClientConfig): pg.ClientConfig {
  return typeof connection === 'string' ? connectionFromUrl(connection).clientConfig : connection;
}

/** Creates `restore_drill.markers` when it does not exist yet (needs CREATE on the database). */
export async function ensureMarkerTable(client: pg.ClientBase): Promise<void> {
  await client.query('create schema if not exists restore_drill');
  await client.query(
    'create table if not exists restore_drill.markers (id bigserial primary key, taken_at timestamptz not null default now(), tables jsonb not null)',
  );
  await ensureObjectsColumn(client);
}

/** Options of {@link measureTable}. */
export interface MeasureOptions {
  /**
   * Major version of the server (e.g. 15). From 14 on, the typed checksum `rdsum-record/1` is recorded
   * too, with this major; without it only the portable checksum is.
   */
  readonly serverMajor?: number;
}

/**
 * The numbers of one table in the connection's current snapshot. `exact` and `append-only` tables with a
 * single integer key use the integer layout over today's key range (append-only: up to today's largest key,
 * the bound); other tables use the hash layout over their primary key, or over the whole row without one.
 */
export async function measureTable(client: pg.ClientBase, plan: TablePlan, options: MeasureOptions = {}): Promise<TableMarker> {
  const { table, mode } = plan;
  if (mode === 'count') return { mode, algorithm: CHECKSUM_ALGORITHM, rows: await countRows(client, table), tolerance: COUNT_TOLERANCE };
  let layout: RangeLayout;
  let bound: RowBound | undefined;
  if (table.integerKey) {
    const { min, max } = await keyRange(client, table, table.integerKey);
    layout = integerLayout(table.integerKey, min, max);
    if (mode === 'append-only') bound = { column: table.integerKey, value: max };
  } else {
    layout = hashLayout(table.primaryKey.map((column) => column.name));
  }
  const { serverMajor } = options;
  if (serverMajor === undefined || serverMajor < TYPED_HASH_MIN_MAJOR) {
    const totals = await computeRangeSums(client, table, layout, bound);
    return { mode, algorithm: CHECKSUM_ALGORITHM, rows: totals.rows, checksum: totals.checksum, ...(bound ? { bound } : {}), ranges: { layout, sums: totals.sums } };
  }
  // Both checksums in one scan: the typed one makes a restore on the same major cheap to verify, the portable
  // one keeps every other major able to verify, and names the ranges that differ.
  const totals = await computeRangeSums(client, table, layout, bound, typedRowHashSql(await readTypedColumns(client, table)));
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
