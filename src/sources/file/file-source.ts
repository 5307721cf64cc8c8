// The file source: implements `Source` (../source.ts) over `pg_dump` archives in a local directory; its
// recovery points are `pg-dump` restorables, for the local and container environments.

import { open, readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ConfigError } from '../../errors.ts';
import { readDumpHeader, type DumpHeader } from '../../postgres/dump-header.ts';
import { MANIFEST_SUFFIX, readManifestBeside } from '../../markers/dump-manifest.ts';
import { listFiles } from '../../util/list-files.ts';
import { dumpFormat, inspectLocalDump } from '../local-dump.ts';
import { type Source, type SourceContext } from '../source.ts';
import { pgDumpRestorable, type RecoveryPoint, type PgDumpRestorable } from '../../model/recovery-point.ts';

/** Options of the {@link fileSource}. */
export interface FileSourceOptions {
  /** A custom-format archive, a directory-format dump (a folder with `toc.dat`) or a folder of dumps. */
  readonly path: string;
}

/**
 * Recovery points on local disk: one `pg_dump` archive (`-Fc`), one directory-format dump (`-Fd`), or a
 * folder holding several of either (other files and `*.manifest.json` are ignored). A point's time is
 * the manifest's `takenAt` when `restore-drill dump` wrote one beside it, else the time in the archive
 * header (read in the local time zone, as pg_dump wrote it), else the file's mtime.
 * `fetch` restores in place: nothing is copied.
 *
 * @example
 * drill('orders restore', { source: fileSource('backups/'), environment: localPostgres() }, …);
 */
export function fileSource(pathOrOptions: string | FileSourceOptions): Source<PgDumpRestorable> {
  const path = typeof pathOrOptions === 'string' ? pathOrOptions : pathOrOptions.path;
  return {
    kind: 'file',
    describe: () => `file ${path}`,
    list: () => listRecoveryPoints(path),
    fetch: (point, context) => fetchInPlace(point, context),
  };
}

async function listRecoveryPoints(path: string): Promise<RecoveryPoint[]> {
  const info = await statOrExplain(path);
  if (info.isFile()) return [await fileRecoveryPoint(path, false)];
  if (!info.isDirectory())
    throw new ConfigError(`${path} is neither a file nor a folder`, 'point at a pg_dump archive or a folder of them');
  if (await exists(join(path, 'toc.dat'))) return [await fileRecoveryPoint(path, true)];

  let entries;
  try {
    entries = await readdir(path, { withFileTypes: true });
  } catch (error) {
    throw unreadable(path, error);
  }
  const points: RecoveryPoint[] = [];
  for (const entry of entries) {
    const child = join(path, entry.name);
    if (entry.isDirectory() && (await exists(join(child, 'toc.dat'))))
      points.push(await fileRecoveryPoint(child, true, false));
    else if (entry.isFile() && !entry.name.endsWith(MANIFEST_SUFFIX) && (await hasArchiveMagic(child))) {
      points.push(await fileRecoveryPoint(child, false, false));
    }
  }
  if (points.length === 0) {
    throw new ConfigError(
      `no pg_dump archives in ${path}`,
      'put custom-format (-Fc) archives or directory-format (-Fd) dumps there, e.g. with `restore-drill dump --out`',
    );
  }
  return points.sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || a.id.localeCompare(b.id));
}

/**
 * One dump as a recovery point. When the path was given directly, a broken header is an error now. Inside
 * a folder a broken dump stays in the list (timed by mtime) so that, when it is the newest, the drill
 * fails on it at fetch instead of quietly restoring an older backup.
 */
async function fileRecoveryPoint(path: string, isDirectory: boolean, strict = true): Promise<RecoveryPoint> {
  const id = resolve(path);
  let header: DumpHeader | undefined;
  let format: string | undefined;
  let problem: string | undefined;
  try {
    header = await readDumpHeader(path);
    format = dumpFormat(header, path, isDirectory);
  } catch (error) {
    if (strict || !(error instanceof ConfigError)) throw error;
    problem = error.message;
  }
  const manifest = await readManifestBeside(path);
  const sizeBytes = await sizeOf(path, isDirectory);
  const facts: RecoveryPoint['facts'] = {
    format: format ?? null,
    sizeBytes,
    serverVersion: header?.serverVersion ?? null,
    pgDumpVersion: header?.pgDumpVersion ?? null,
    archiveVersion: header?.archiveVersion ?? null,
    database: header?.database ?? null,
    ...(problem ? { problem } : {}),
  };
  if (manifest) return { source: 'file', id, createdAt: new Date(manifest.takenAt), createdAtBasis: 'manifest', facts };
  if (header) return { source: 'file', id, createdAt: headerTime(header), createdAtBasis: 'archive-header', facts };
  const mtime = (await stat(isDirectory ? join(path, 'toc.dat') : path)).mtime;
  return { source: 'file', id, createdAt: mtime, createdAtBasis: 'mtime', facts };
}

/** The archive records the dumping machine's local wall-clock time without a zone; we assume ours. */
function headerTime(header: DumpHeader): Date {
  const { year, month, day, hour, minute, second } = header.createdAtLocal;
  return new Date(year, month - 1, day, hour, minute, second);
}

async function fetchInPlace(point: RecoveryPoint, context: SourceContext): Promise<PgDumpRestorable> {
  if (point.source !== 'file') throw new Error(`file source cannot fetch a recovery point of source ${point.source}`);
  context.log(`file: using ${point.id} in place`);
  return pgDumpRestorable(await inspectLocalDump(point.id, context.signal));
}

async function statOrExplain(path: string) {
  try {
    return await stat(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new ConfigError(
        `backup path not found: ${path}`,
        'check the path, or make a dump with `restore-drill dump --url URL --out PATH`',
      );
    }
    throw unreadable(path, error);
  }
}

function unreadable(path: string, error: unknown): ConfigError {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'EACCES' || code === 'EPERM') {
    return new ConfigError(
      `cannot read ${path}: permission denied`,
      'give the user running restore-drill read access to the backups',
    );
  }
  return new ConfigError(`cannot read ${path}: ${(error as Error).message}`, 'check the path and its permissions');
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw unreadable(path, error);
  }
}

/** Whether a file starts with `PGDMP`, the magic of custom-format archives (and of `toc.dat`). */
async function hasArchiveMagic(path: string): Promise<boolean> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    throw unreadable(path, error);
  }
  try {
    const buffer = Buffer.alloc(5);
    const { bytesRead } = await handle.read(buffer, 0, 5, 0);
    return bytesRead === 5 && buffer.toString('latin1') === 'PGDMP';
  } finally {
    await handle.close();
  }
}

async function sizeOf(path: string, isDirectory: boolean): Promise<number> {
  if (!isDirectory) return (await stat(path)).size;
  let total = 0;
  for (const file of await listFiles(path)) total += (await stat(file)).size;
  return total;
}
