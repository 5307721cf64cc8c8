import { readFile } from 'node:fs/promises';
import { ConfigError } from '../errors.ts';
import type { MarkerManifest } from '../model/marker.ts';
import { parseMarkerManifest } from './marker-schema.ts';

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
 * Parses and validates a marker manifest's text; `label` names it in errors.
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
  const parsed = parseMarkerManifest(value);
  if ('problem' in parsed)
    throw new ConfigError(`manifest ${label} is not a valid restore-drill.manifest/v1: ${parsed.problem}`, hint);
  return parsed.manifest;
}

/**
 * Reads a manifest file: `undefined` when there is none, a `ConfigError` when it is not a valid
 * `restore-drill.manifest/v1`.
 *
 * @example
 * const manifest = await readManifest('backups/shop.dump.manifest.json');
 */
export async function readManifest(path: string): Promise<MarkerManifest | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ConfigError(`cannot read manifest ${path}: ${(error as Error).message}`, 'check the file permissions');
  }
  return parseManifest(text, path);
}

/**
 * Reads the manifest beside a local dump, or `undefined` when there is none.
 *
 * @example
 * const manifest = await readManifestBeside('backups/shop.dump'); // reads backups/shop.dump.manifest.json
 */
export function readManifestBeside(dumpPath: string): Promise<MarkerManifest | undefined> {
  return readManifest(manifestPathFor(dumpPath));
}
