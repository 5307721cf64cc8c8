// The marker's position in the WAL, for point-in-time restores to the marker's own moment. `mark` reads it
// right after its snapshot is taken and writes the marker, measured in full, into the WAL as a transactional
// logical message: a physical restore finds it there with pg_waldump before replaying (the marker's row commits
// after that position, so the copy restored there cannot hold it).
import type pg from 'pg';
import type { Marker, WalMarker } from '../model/marker.ts';

/** The prefix of the logical messages that carry markers. */
export const WAL_MARKER_PREFIX = 'restore-drill.marker';

/** Where a snapshot sits in the WAL: the insert position just after it, and the snapshot itself. */
export interface WalPosition {
  readonly lsn: string;
  readonly snapshot: string;
}

/**
 * The WAL position of the transaction's snapshot (call it right after the snapshot is taken), or null when the
 * database does not archive its WAL (nothing could restore to it) or is a standby.
 *
 * @example
 * const position = await readWalPosition(pool.leader);
 */
export async function readWalPosition(client: pg.ClientBase): Promise<WalPosition | null> {
  const { rows } = await client.query<{ lsn: string | null; snapshot: string }>(
    `select case when current_setting('archive_mode') <> 'off' and not pg_catalog.pg_is_in_recovery()
                 then pg_catalog.pg_current_wal_insert_lsn()::text end as lsn,
            pg_catalog.pg_current_snapshot()::text as snapshot`,
  );
  const row = rows[0]!;
  return row.lsn ? { lsn: row.lsn, snapshot: row.snapshot } : null;
}

/**
 * Writes the marker into the WAL as a transactional logical message (it counts only if the marker commits).
 * `exactTables` are every table's full numbers in the marker's snapshot.
 *
 * @example
 * await emitWalMarker(pool.leader, { ...marker, id }, position, exactTables);
 */
export async function emitWalMarker(
  client: pg.ClientBase,
  marker: Marker & { readonly id: string },
  position: WalPosition,
  exactTables: Marker['tables'],
): Promise<void> {
  const payload: WalMarker = {
    format: 'restore-drill.wal-marker/v1',
    id: marker.id,
    takenAt: marker.takenAt,
    lsn: position.lsn,
    snapshot: position.snapshot,
    tables: exactTables,
    ...(marker.objects ? { objects: marker.objects } : {}),
  };
  await client.query('select pg_catalog.pg_logical_emit_message(true, $1, $2)', [
    WAL_MARKER_PREFIX,
    JSON.stringify(payload),
  ]);
}
