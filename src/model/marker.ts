import type { ObjectFingerprint } from './object-fingerprint.ts';

/**
 * What can be compared after a restore, per table:
 * - `append-only`: rows up to the recorded key bound must match exactly (count and checksum);
 * - `exact`: the whole table must match;
 * - `count`: the row count must be within a tolerance.
 */
export type MarkerMode = 'append-only' | 'exact' | 'count';

/** Checksum of one key range of a table. */
export interface RangeSum {
  /** Bucket number; the range it covers is described by the table's `ranges` layout. */
  readonly bucket: number;
  readonly rows: number;
  /** Sum of the 64-bit row hashes, as a decimal string (numeric: no overflow). */
  readonly sum: string;
}

/**
 * How a table is split into key ranges. `integer`: bucket = floor((key - min) / width) over a single
 * integer key, for buckets 0 … buckets-1; keys below `min` land in bucket -1 and keys above the last range
 * in bucket `buckets`, so rows that appeared outside the marker's key range show up as differences.
 * `hash`: bucket = hash of the key columns (or of the whole row when `columns` is null) modulo `buckets`.
 * See docs/markers.md for the exact SQL.
 */
export type RangeLayout =
  | {
      readonly kind: 'integer';
      readonly column: string;
      readonly min: string;
      readonly width: string;
      readonly buckets: number;
    }
  | { readonly kind: 'hash'; readonly columns: string[] | null; readonly buckets: number };

/** A table's checksum by a version-bound algorithm, with the server major it was computed on. */
export interface TypedChecksum {
  /** e.g. `rdsum-record/3`. */
  readonly algorithm: string;
  /** Major version of the server it was computed on, e.g. 15; only a server of that major can compare it. */
  readonly serverMajor: number;
  /** Sum of the typed row hashes of the same rows as `checksum` (decimal string). */
  readonly checksum: string;
}

/** The numbers a marker records for one table. */
export interface TableMarker {
  readonly mode: MarkerMode;
  /** Checksum algorithm name and version, e.g. `rdsum-text-md5/1`. */
  readonly algorithm: string;
  readonly rows: number;
  /** Total checksum (decimal string), absent in `count` mode. */
  readonly checksum?: string;
  /**
   * `append-only`: only rows with `column <= value` are compared. `value` is null when the table was empty
   * when the marker was taken: then no row is expected, whatever was added later.
   */
  readonly bound?: { readonly column: string; readonly value: string | null };
  /** `count`: allowed relative difference of the row count, e.g. 0.1 for ±10 %. */
  readonly tolerance?: number;
  /** Per-range counts and checksums (`exact`, `append-only`); ranges with no rows are left out. */
  readonly ranges?: { readonly layout: RangeLayout; readonly sums: RangeSum[] };
  /**
   * The same rows' checksum by the typed row hash (`rdsum-record/3`, see typed-row-hash.ts), which is several
   * times cheaper to compute but only comparable on a server of the same major version. A restored copy on
   * that major compares this one; any other compares the portable `checksum`. Absent in `count` mode, and in
   * markers taken on PostgreSQL 13 or by older versions of restore-drill.
   */
  readonly typed?: TypedChecksum;
  /**
   * Why the table has only a row count where its mode would have a checksum: a column's type prints with a
   * function that was not trusted to run in production (see typed-row-hash.ts). Such a table is listed as not
   * verified after a restore.
   */
  readonly notHashed?: string;
  /** The table's columns, indexes and constraints when the marker was taken (see `table-schema.ts`). */
  readonly schema?: TableSchema;
}

/**
 * Table key as `schema.table`, or `"schema"."table"` (quoted identifiers) when either part contains a dot or a
 * double quote; see `qualifiedName` and `parseQualifiedName` in checksum-sql.ts.
 */
export type QualifiedName = string;

/** One marker: a row of `restore_drill.markers`, or the manifest `restore-drill dump` writes beside a dump. */
export interface Marker {
  /** Row id for in-database markers; absent for manifests. */
  readonly id?: string;
  readonly takenAt: string;
  readonly tables: Record<QualifiedName, TableMarker>;
  /** Every schema object beside the tables (rdobj/1); absent in markers taken before object fingerprints. */
  readonly objects?: ObjectFingerprint;
}

/** A marker row of `restore_drill.markers`: it always has its id. */
export interface StoredMarker extends Marker {
  readonly id: string;
}

/** The manifest file `restore-drill dump` writes beside a dump: a marker taken in the dump's own snapshot. */
export interface MarkerManifest extends Marker {
  readonly format: 'restore-drill.manifest/v1';
  /** Server version of the production database, e.g. `15.18`. */
  readonly serverVersion: string;
  readonly database: string;
}

/**
 * The shape of one table as markers record it: columns with types and nullability, index definitions and
 * constraint definitions, each sorted. A restore that lost an index, a constraint or a column shows up
 * as a difference, even when every row is there.
 */
export interface TableSchema {
  readonly columns: string[];
  readonly indexes: string[];
  readonly constraints: string[];
}

/**
 * A marker as `restore-drill mark` also writes it into the WAL (a logical message, when the database archives
 * its WAL): every table measured in full (`exact`, tables updated in place included), and where its snapshot
 * sits in the WAL. A physical restore stopped just before `lsn` is exactly that snapshot, so every table
 * compares exactly — unless a transaction the snapshot did not see committed before `lsn` (checked after the
 * restore with `snapshot`).
 */
export interface WalMarker extends StoredMarker {
  readonly format: 'restore-drill.wal-marker/v1';
  /** The WAL insert position read just after the marker's snapshot was taken (`pg_current_wal_insert_lsn()`). */
  readonly lsn: string;
  /** The marker's snapshot as `pg_current_snapshot()` prints it: `xmin:xmax:xip,…`. */
  readonly snapshot: string;
}

/**
 * A marker from the WAL as the manifest of the copy restored to its position: taken in that copy's own
 * snapshot, so every table compares exactly, as against a dump's manifest.
 *
 * @example
 * const manifest = walMarkerManifest(marker, '15.18', 'shop');
 */
export function walMarkerManifest(marker: WalMarker, serverVersion: string, database: string): MarkerManifest {
  return {
    format: 'restore-drill.manifest/v1',
    id: marker.id,
    takenAt: marker.takenAt,
    serverVersion,
    database,
    tables: marker.tables,
    ...(marker.objects ? { objects: marker.objects } : {}),
  };
}
