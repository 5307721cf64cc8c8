import type { MarkerManifest } from './marker.ts';
import type { CheckResult } from './report.ts';

/**
 * One restorable copy of a database: a `pg_dump` archive on disk or in S3, an RDS snapshot, …
 * Its `createdAt` is metadata; the drill prefers the newest marker found in the restored data.
 */
export interface RecoveryPoint {
  /** Kind of the source that found it, e.g. `file`, `s3-dump`. */
  readonly source: string;
  /** Stable identifier: a path, an `s3://` URI, a snapshot id. Never contains secrets. */
  readonly id: string;
  /** When the recovery point was taken. */
  readonly createdAt: Date;
  /** Where `createdAt` came from: `manifest`, `archive-header`, `mtime`, `s3-last-modified`, … */
  readonly createdAtBasis: string;
  /** Facts an auditor may ask about: format, size, encryption, key, region, server version. */
  readonly facts: Record<string, string | number | boolean | null>;
}

/** A recovery point made available on local disk, ready for `pg_restore`. */
export interface LocalDump {
  /** Path of a custom-format archive file or a directory-format dump folder. */
  readonly path: string;
  readonly format: 'custom' | 'directory';
  /** `sha256:<hex>` of the archive (for a directory: of its sorted `name sha256` list). */
  readonly digest: string;
  /** The marker manifest written beside the dump by `restore-drill dump`, when there is one. */
  readonly manifest?: MarkerManifest;
}

/**
 * What a source hands to an environment. Each environment restores the kinds it knows (the local cluster:
 * `pg-dump`; an RDS instance: snapshots) and refuses others with a clear error.
 */
export interface Restorable {
  /** `pg-dump` for {@link PgDumpRestorable}; other sources define their own kinds. */
  readonly kind: string;
  /** A marker manifest that travels with the recovery point (every table compares exactly). */
  readonly manifest?: MarkerManifest;
  /** `sha256:<hex>` of the recovery point's bytes, when the source can compute it. */
  readonly digest?: string;
  /** Checks the source made while fetching (e.g. the key-access check of an encrypted copy): they go into the report. */
  readonly checks?: readonly CheckResult[];
}

/** A local `pg_dump` archive, restored with `pg_restore`. */
export interface PgDumpRestorable extends Restorable {
  readonly kind: 'pg-dump';
  readonly dump: LocalDump;
}

/** Wraps a local dump as a restorable, carrying its manifest and digest. */
export function pgDumpRestorable(dump: LocalDump): PgDumpRestorable {
  return { kind: 'pg-dump', dump, digest: dump.digest, ...(dump.manifest ? { manifest: dump.manifest } : {}) };
}

/** Whether a restorable is a local `pg_dump` archive. */
export function isPgDump(restorable: Restorable): restorable is PgDumpRestorable {
  return restorable.kind === 'pg-dump' && 'dump' in restorable;
}
