import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { relative, sep } from 'node:path';
import { ConfigError } from '../errors.ts';
import { readDumpHeader, type DumpHeader } from '../postgres/dump-header.ts';
import { listFiles } from '../util/list-files.ts';
import { sha256File } from '../util/sha256-file.ts';
import { readManifestBeside } from '../markers/dump-manifest.ts';
import type { LocalDump } from '../model/recovery-point.ts';

/**
 * Checks that `path` is a custom-format archive file or a directory-format dump folder, digests it and
 * attaches the manifest beside it. This is what every source hands to an environment, so the digest
 * in the report always describes the bytes that were restored.
 *
 * @example
 * const dump = await inspectLocalDump('backups/shop.dump');
 * dump.format; // 'custom'
 * dump.digest; // 'sha256:9f86d081…'
 */
export async function inspectLocalDump(path: string, signal?: AbortSignal): Promise<LocalDump> {
  const header = await readDumpHeader(path);
  const isDirectory = (await stat(path)).isDirectory();
  const format = dumpFormat(header, path, isDirectory);
  let digest: string;
  try {
    digest = isDirectory ? await directoryDigest(path, signal) : `sha256:${await sha256File(path, signal)}`;
  } catch (error) {
    if (signal?.aborted) throw error;
    throw new ConfigError(`cannot read dump ${path}: ${(error as Error).message}`, 'check the file permissions');
  }
  const manifest = await readManifestBeside(path);
  return manifest ? { path, format, digest, manifest } : { path, format, digest };
}

/**
 * The dump's format, refused unless pg_restore can restore it selectively (custom or directory).
 * pg_dump writes the tar code into a directory dump's `toc.dat` (the layouts are compatible), so a header
 * read from a folder's `toc.dat` is a directory dump whichever of the two codes it carries.
 *
 * @example
 * dumpFormat(await readDumpHeader('backups/shop.dir'), 'backups/shop.dir', true); // 'directory'
 */
export function dumpFormat(header: DumpHeader, path: string, isDirectory: boolean): LocalDump['format'] {
  if (isDirectory) return 'directory';
  // A toc.dat passed on its own is only the table of contents; the data files beside it belong to the dump.
  if (header.format !== 'custom') {
    throw new ConfigError(
      `${path} is the table of contents of a directory-format or tar dump`,
      'point at the folder that holds toc.dat',
    );
  }
  return 'custom';
}

/**
 * Digest of a directory-format dump: the SHA-256 of its sorted `<relative name> <sha256 hex>\n` lines,
 * so it does not depend on the order the file system lists files in.
 */
async function directoryDigest(dir: string, signal?: AbortSignal): Promise<string> {
  const lines: string[] = [];
  for (const file of await listFiles(dir)) {
    const name = relative(dir, file).split(sep).join('/');
    lines.push(`${name} ${await sha256File(file, signal)}\n`);
  }
  lines.sort();
  return `sha256:${createHash('sha256').update(lines.join('')).digest('hex')}`;
}
