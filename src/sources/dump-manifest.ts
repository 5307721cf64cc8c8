import { readFile } from 'node:fs/promises';
import { ConfigError } from '../errors.ts';
import type { MarkerManifest } from '../verify/marker-model.ts';

/** Suffix of the marker manifest `restore-drill dump` writes beside a dump. */
export const MANIFEST_SUFFIX = '.manifest.json';

/**
 * Where the manifest of a dump lives: `<dump path without trailing slash>.manifest.json`. Works for local
 * paths and S3 keys alike.
 *
 * @example
 * manifestPathFor('backups/shop.dir/'); // 'backups/shop.dir.manifest.json'
 */
export function manifestPathFor(dumpPath: string): string {
  return `${dumpPath.replace(/\/+$/, '')}${MANIFEST_SUFFIX}`;
}

/**
 * Parses a marker manifest's text; `label` names it in errors. Only the fields sources rely on are
 * checked here (src/verify owns the full model).
 *
 * @example
 * const manifest = parseManifest(await readFile(path, 'utf8'), path);
 * new Date(manifest.takenAt);
 */
export function parseManifest(text: string, label: string): MarkerManifest {
  const hint = 'the manifest is written by `restore-drill dump`; take a new dump or delete the damaged manifest';
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ConfigError(`manifest ${label} is not valid JSON`, hint);
  }
  const manifest = value as Partial<MarkerManifest> | null;
  if (!manifest || typeof manifest !== 'object' || manifest.format !== 'restore-drill.manifest/v1') {
    throw new ConfigError(`manifest ${label} is not a restore-drill.manifest/v1 file`, hint);
  }
  if (typeof manifest.takenAt !== 'string' || Number.isNaN(Date.parse(manifest.takenAt))) {
    throw new ConfigError(`manifest ${label} has no valid takenAt time`, hint);
  }
  return manifest as MarkerManifest;
}

/**
 * Reads the manifest beside a local dump, or `undefined` when there is none.
 *
 * @example
 * const manifest = await readManifestBeside('backups/shop.dump'); // reads backups/shop.dump.manifest.json
 */
export async function readManifestBeside(dumpPath: string): Promise<MarkerManifest | undefined> {
  const path = manifestPathFor(dumpPath);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ConfigError(`cannot read manifest ${path}: ${(error as Error).message}`, 'check the file permissions');
  }
  return parseManifest(text, path);
}
