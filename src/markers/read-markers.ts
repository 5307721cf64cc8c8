import type pg from 'pg';
import { RestoreDrillError } from '../errors.ts';
import type { StoredMarker } from '../model/marker.ts';
import { parseMarkerTables } from './marker-schema.ts';

/**
 * SQL for a timestamptz as ISO 8601 UTC with milliseconds, the way markers record `takenAt` — whatever the
 * session's TimeZone and DateStyle.
 */
export function isoTimeSql(expression: string): string {
  return `to_char(${expression} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
}

/**
 * The markers in `restore_drill.markers` of a (restored) database, newest first; empty when the database has
 * no such table (no `restore-drill mark` ever ran there). Throws a {@link RestoreDrillError} naming the row
 * when a marker's `tables` is not readable.
 */
export async function readMarkers(
  client: pg.ClientBase,
  options: { readonly limit?: number } = {},
): Promise<StoredMarker[]> {
  const exists = await client.query<{ found: boolean }>(
    "select to_regclass('restore_drill.markers') is not null as found",
  );
  if (!exists.rows[0]!.found) return [];
  const result = await client.query<{ id: string; taken_at: string; tables: unknown }>(
    `select id::text, ${isoTimeSql('taken_at')} as taken_at, tables
     from restore_drill.markers order by markers.taken_at desc, id desc limit $1`,
    [options.limit ?? null],
  );
  return result.rows.map((row) => {
    const parsed = parseMarkerTables(row.tables);
    if ('problem' in parsed) {
      throw new RestoreDrillError(
        `marker #${row.id} in restore_drill.markers is not readable: ${parsed.problem}`,
        'it was not written by this version of restore-drill; take a new marker with `restore-drill mark`',
      );
    }
    return { id: row.id, takenAt: row.taken_at, tables: parsed.tables };
  });
}

/** The newest marker of a (restored) database, or undefined when there is none. */
export async function readNewestMarker(client: pg.ClientBase): Promise<StoredMarker | undefined> {
  const [newest] = await readMarkers(client, { limit: 1 });
  return newest;
}
