import { execFileSync } from 'node:child_process';
import { accessSync, constants, readdirSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { ConfigError } from '../errors.ts';

/** A PostgreSQL tool restore-drill runs. */
export type PgTool =
  | 'initdb'
  | 'pg_ctl'
  | 'postgres'
  | 'pg_restore'
  | 'pg_dump'
  | 'psql'
  | 'pg_verifybackup'
  | 'pg_basebackup'
  | 'pg_waldump'
  | 'pg_resetwal';

/** The server tools a local environment needs. */
export const SERVER_TOOLS: readonly PgTool[] = ['initdb', 'pg_ctl', 'postgres'];

/** A folder of PostgreSQL binaries of one version. */
export interface PgBinaries {
  readonly binDir: string;
  /** Full version, e.g. `15.18`. */
  readonly version: string;
  readonly major: number;
  /** Absolute path of a tool in {@link binDir}. */
  path(tool: PgTool): string;
}

export interface FindPgBinariesOptions {
  /** Tools that must all be in the same folder. */
  readonly tools: readonly PgTool[];
  /** The lowest acceptable major version (e.g. the dump's server major for pg_restore). */
  readonly minMajor?: number;
  /** Look only in this folder (e.g. `localPostgres({ binDir })`), as `RESTORE_DRILL_PG_BIN` would. */
  readonly binDir?: string;
}

const MIN_SUPPORTED_MAJOR = 13;

/**
 * Finds PostgreSQL binaries, in this order: the folder in `RESTORE_DRILL_PG_BIN` (only that one, when
 * set), the folders on `PATH`, `pg_config --bindir`, then `/usr/lib/postgresql/<version>/bin` newest first.
 * The first folder holding every requested tool at an acceptable version wins.
 *
 * @example
 * const pg = findPgBinaries({ tools: ['pg_restore'] });
 * pg.path('pg_restore'); // '/usr/lib/postgresql/15/bin/pg_restore'
 */
export function findPgBinaries(options: FindPgBinariesOptions): PgBinaries {
  const minMajor = Math.max(options.minMajor ?? MIN_SUPPORTED_MAJOR, MIN_SUPPORTED_MAJOR);
  const seen: string[] = [];
  let tooOld: PgBinaries | undefined;
  for (const dir of candidateDirs(options.binDir)) {
    if (seen.includes(dir)) continue;
    seen.push(dir);
    if (!options.tools.every((tool) => isExecutable(join(dir, tool)))) continue;
    const version = toolVersion(join(dir, options.tools[0]!));
    if (!version) continue;
    const found = binaries(dir, version);
    if (found.major >= minMajor) return found;
    if (!tooOld || found.major > tooOld.major) tooOld = found;
  }
  const names = options.tools.join(', ');
  if (tooOld) {
    throw new ConfigError(
      `PostgreSQL ${minMajor} or newer is needed (${names}), but the newest found is ${tooOld.version} in ${tooOld.binDir}`,
      `install PostgreSQL ${minMajor} (e.g. apt-get install postgresql-${minMajor}) or set RESTORE_DRILL_PG_BIN to its bin folder`,
    );
  }
  throw new ConfigError(
    `no PostgreSQL binaries (${names}) found in RESTORE_DRILL_PG_BIN, PATH, pg_config --bindir or /usr/lib/postgresql/*/bin`,
    `install PostgreSQL ${minMajor} or newer (e.g. apt-get install postgresql) or set RESTORE_DRILL_PG_BIN to the folder holding ${names}`,
  );
}

function* candidateDirs(binDir: string | undefined): Generator<string> {
  const explicit = binDir ?? process.env.RESTORE_DRILL_PG_BIN;
  if (explicit) {
    yield explicit;
    return;
  }
  for (const dir of (process.env.PATH ?? '').split(delimiter)) if (dir) yield dir;
  try {
    yield execFileSync('pg_config', ['--bindir'], { stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim();
  } catch {
    // pg_config is optional
  }
  try {
    const versions = readdirSync('/usr/lib/postgresql').sort((a, b) => Number(b) - Number(a));
    for (const v of versions) yield `/usr/lib/postgresql/${v}/bin`;
  } catch {
    // not a Debian-style layout
  }
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Parses `pg_restore (PostgreSQL) 15.18 (Debian …)` into `15.18`. */
export function parseToolVersion(output: string): string | null {
  return /\(PostgreSQL\)\s+(\d+(?:\.\d+)?)/.exec(output)?.[1] ?? null;
}

/** Versions by path: a drill looks up the same binaries several times, and each lookup would start a process. */
const toolVersions = new Map<string, string | null>();

function toolVersion(path: string): string | null {
  if (!toolVersions.has(path)) {
    let version: string | null;
    try {
      version = parseToolVersion(execFileSync(path, ['--version'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString());
    } catch {
      version = null;
    }
    toolVersions.set(path, version);
  }
  return toolVersions.get(path)!;
}

function binaries(binDir: string, version: string): PgBinaries {
  return { binDir, version, major: Number(version.split('.')[0]), path: (tool) => join(binDir, tool) };
}
