import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { dirname } from 'node:path';
import { ConfigError } from '../errors.ts';
import { describeFingerprint } from '../model/object-fingerprint.ts';
import { findPgBinaries } from '../postgres/pg-binaries.ts';
import { runCommand } from '../postgres/run-command.ts';
import { manifestPathFor } from './dump-manifest.ts';
import { checkOutputPath } from '../util/output-path.ts';
import { openConnectionPool } from './connection-pool.ts';
import { connectionFromUrl } from './connection-url.ts';
import type { Marker, MarkerManifest } from '../model/marker.ts';
import { markSnapshot } from './take-marker.ts';

// One definition of where a manifest lives, shared with the sources that look for it.
export { manifestPathFor };

/** Options of {@link dumpWithManifest}. */
export interface DumpWithManifestOptions {
  /** Default: `directory` when `out` ends with `/`, else `custom`. */
  readonly format?: 'custom' | 'directory';
  /** Parallel pg_dump jobs for directory format; default the number of CPU cores. */
  readonly jobs?: number;
  /** Connections computing the manifest in parallel; default min(4, CPU cores). */
  readonly poolSize?: number;
  readonly signal?: AbortSignal;
  /** Progress for the person watching (lines without a prefix); never receives secrets. */
  readonly log?: (line: string) => void;
  /**
   * Run as this role: `SET ROLE` on every connection of the manifest and `pg_dump --role`, e.g. a read-only
   * role with `pg_read_all_data` (docs/markers.md). Default: the login's own rights.
   */
  readonly role?: string;
  /** Called once the snapshot is exported, before pg_dump and the manifest start reading it. */
  readonly onSnapshotExported?: (snapshotId: string) => void | Promise<void>;
}

/** What {@link dumpWithManifest} wrote. */
export interface DumpWithManifestResult {
  /** The dump: a custom-format file or a directory-format folder (no trailing slash). */
  readonly path: string;
  readonly format: 'custom' | 'directory';
  readonly manifestPath: string;
  readonly manifest: MarkerManifest;
}

/**
 * `restore-drill dump`: a `pg_dump` archive and, beside it, a marker manifest taken in the dump's own
 * snapshot, so every table of a restore of that dump must match exactly. A REPEATABLE READ READ ONLY
 * transaction exports its snapshot; `pg_dump --snapshot` dumps it while the pool computes every table's
 * numbers (mode `exact`) in the same snapshot; the transaction stays open until pg_dump has finished. Writes
 * committed meanwhile are in neither. The password reaches pg_dump through PGPASSWORD, never its arguments.
 * The manifest is written last (atomically), so a manifest beside a dump means the dump completed.
 *
 * `url` is the production database's `postgres://` URL; `out` a local path, where a trailing `/` means
 * directory format (uploading to S3 is up to the caller).
 *
 * @example
 * const { path, manifestPath } = await dumpWithManifest(process.env.DATABASE_URL!, 'backups/shop.dump');
 */
export async function dumpWithManifest(
  url: string,
  out: string,
  options: DumpWithManifestOptions = {},
): Promise<DumpWithManifestResult> {
  const log = options.log ?? (() => {});
  if (/^s3:\/\//i.test(out)) {
    throw new ConfigError(
      `dumpWithManifest writes local paths only, got ${out}`,
      'dump to a local path, then upload the dump and its manifest',
    );
  }
  const format = options.format ?? (out.endsWith('/') ? 'directory' : 'custom');
  const path = out.replace(/(.)\/+$/, '$1');
  const manifestPath = manifestPathFor(path);
  const connection = connectionFromUrl(url);
  await checkOutputPath(path, format);
  // A manifest left by an earlier dump at this path must not vouch for the new one until it is complete.
  await rm(manifestPath, { force: true });
  await mkdir(dirname(path), { recursive: true });

  await using pool = await openConnectionPool(connection.clientConfig, {
    snapshot: 'shared',
    size: options.poolSize,
    role: options.role,
  });
  const snapshotId = pool.snapshotId!;
  const server = (
    await pool.leader.query<{ version: string; num: number; database: string }>(
      "select current_setting('server_version') as version, current_setting('server_version_num')::int as num, current_database() as database",
    )
  ).rows[0]!;
  const pgDump = findPgBinaries({ tools: ['pg_dump'], minMajor: Math.floor(server.num / 10000) });
  log(`snapshot ${snapshotId} exported from ${connection.display}`);
  await options.onSnapshotExported?.(snapshotId);

  const jobs = Math.max(1, options.jobs ?? availableParallelism());
  const args = [
    `--format=${format}`,
    `--file=${path}`,
    `--snapshot=${snapshotId}`,
    '--no-password',
    ...(options.role !== undefined ? [`--role=${options.role}`] : []),
    ...(format === 'directory' ? [`--jobs=${jobs}`] : []),
  ];
  log(
    `${pgDump.path('pg_dump')} ${pgDump.version} → ${path} (${format}${format === 'directory' ? `, ${jobs} jobs` : ''}), manifest in the same snapshot`,
  );
  const stopDump = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, stopDump.signal]) : stopDump.signal;
  // The first failure is the cause; the other side then fails only because it was stopped.
  let failure: { error: unknown } | undefined;
  // pg_dump and the manifest read the same snapshot at the same time: the dump does not wait for the scan.
  const dumping = runCommand(pgDump.path('pg_dump'), args, {
    env: connection.libpqEnv,
    signal,
    hint: 'check that pg_dump can reach the server with these credentials and that the output path is writable',
  }).catch(async (error: unknown) => {
    failure ??= { error };
    await pool.close(); // stops the manifest's queries: without the dump they are useless
    throw error;
  });
  const marking = markSnapshot(pool, { forceExact: true }).catch((error: unknown) => {
    failure ??= { error };
    stopDump.abort('the manifest failed');
    throw error;
  });
  const [, marked] = await Promise.allSettled([dumping, marking]);
  if (failure) throw failure.error;
  if (marked.status === 'rejected') throw marked.reason; // not reached: a rejection sets failure
  await pool.close();

  const manifest = toManifest(marked.value, server.version.split(' ')[0]!, server.database);
  const temporary = `${manifestPath}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(manifest, null, 2)}\n`);
  await rename(temporary, manifestPath);
  log(`manifest of ${Object.keys(manifest.tables).length} tables written to ${manifestPath}`);
  if (manifest.objects) log(describeFingerprint(manifest.objects));
  return { path, format, manifestPath, manifest };
}

function toManifest(marker: Marker, serverVersion: string, database: string): MarkerManifest {
  return {
    format: 'restore-drill.manifest/v1',
    takenAt: marker.takenAt,
    serverVersion,
    database,
    tables: marker.tables,
    ...(marker.objects ? { objects: marker.objects } : {}),
  };
}
