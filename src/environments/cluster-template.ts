import { createHash, randomBytes } from 'node:crypto';
import { chown, lstat, mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { PgBinaries } from '../postgres/pg-binaries.ts';
import { runCommand, type OsUser, type RunOptions } from '../postgres/run-command.ts';
import { mapLimit } from '../util/map-limit.ts';

/** What a new cluster needs from initdb: the same for every drill, so it is made once and copied. */
export interface ClusterInit {
  readonly bins: PgBinaries;
  /** The OS user the server runs as (null: this process's user). */
  readonly user: OsUser | null;
  /** The superuser initdb creates. */
  readonly superuser: string;
  /** initdb's arguments besides the data dir, the superuser and its password. */
  readonly initdbArgs: readonly string[];
  /** A database created in the template, so a new cluster does not have to create it. */
  readonly database: string;
  readonly signal?: AbortSignal;
}

/** Bump when the template's contents change, so caches of an older layout are not used. */
const TEMPLATE_LAYOUT = 1;

/**
 * Where templates are cached: `RESTORE_DRILL_CACHE_DIR`, else a folder of the server user's in the OS temp
 * dir. Not named `restore-drill-…`, so leftover scans never look at it.
 */
export function templateCacheDir(user: OsUser | null): string {
  const uid = user?.uid ?? process.getuid?.() ?? 0;
  return process.env.RESTORE_DRILL_CACHE_DIR ?? join(tmpdir(), `restore-drill.cache-${uid}`);
}

/**
 * Makes `dataDir` a fresh data directory by copying a cached one that initdb made earlier (once per
 * binaries and options) instead of running initdb: 0.5–1 s of every drill. The template's superuser
 * password was random and thrown away; `password` becomes the copy's, set in single-user mode before the
 * server listens. The copy is owned by the server user. Returns why it could not when no template can be
 * used (the caller then runs initdb itself).
 *
 * @example
 * const why = await copyClusterTemplate(init, join(dir, 'data'), password);
 * if (why) await runInitdb(…);
 */
export async function copyClusterTemplate(init: ClusterInit, dataDir: string, password: string): Promise<string | null> {
  const cache = templateCacheDir(init.user);
  const problem = await ensurePrivateDir(cache, init.user);
  if (problem) return problem;
  const key = createHash('sha256')
    .update(JSON.stringify([TEMPLATE_LAYOUT, init.bins.path('initdb'), init.bins.version, init.superuser, init.database, init.initdbArgs]))
    .digest('hex')
    .slice(0, 16);
  const template = join(cache, `pg${init.bins.version}-${key}`);
  if (!(await isDirectory(join(template, 'data')))) await makeTemplate(init, cache, template);
  await copyDataDir(join(template, 'data'), dataDir, { user: init.user, signal: init.signal, cwd: cache });
  await singleUser(init, dataDir, `alter role ${pg.escapeIdentifier(init.superuser)} password ${pg.escapeLiteral(password)}`);
  return null;
}

/**
 * `cp -Rp` of a data directory as the server user, in a few parallel parts (each database's folder, the
 * rest): creating its ≈ 1,300 small files is what copying costs, and on virtual disks that waits on I/O
 * rather than CPU — four copies at once took half the time of one here.
 */
async function copyDataDir(from: string, to: string, run: RunOptions): Promise<void> {
  const top = await readdir(from);
  const databases = (await readdir(join(from, 'base'))).map((name) => join(from, 'base', name));
  await runCommand('mkdir', ['-m', '700', to, join(to, 'base')], run);
  const parts: Array<[string[], string]> = [
    ...databases.map((dir): [string[], string] => [[dir], join(to, 'base')]),
    [top.filter((name) => name !== 'base').map((name) => join(from, name)), to],
  ];
  await mapLimit(parts, 4, ([sources, target]) => runCommand('cp', ['-Rp', ...sources, target], run));
}

/** initdb into a private folder, the database in it, then an atomic rename: parallel first uses are safe. */
async function makeTemplate(init: ClusterInit, cache: string, template: string): Promise<void> {
  await removeAbandonedBuilds(cache);
  const building = join(cache, `${BUILDING}${randomBytes(6).toString('hex')}`);
  const run = { user: init.user, signal: init.signal, cwd: cache };
  try {
    await mkdir(building, { mode: 0o700 });
    const pwfile = join(building, 'pwfile');
    // A password nobody learns: every copy gets its own before it starts.
    await writeFile(pwfile, randomBytes(24).toString('base64url'), { mode: 0o600 });
    if (init.user) for (const path of [building, pwfile]) await chown(path, init.user.uid, init.user.gid);
    await runCommand(init.bins.path('initdb'), ['-D', join(building, 'data'), '-U', init.superuser, `--pwfile=${pwfile}`, ...init.initdbArgs], {
      ...run,
      hint: 'check that the PostgreSQL server binaries work and the temp dir is writable',
    });
    await rm(pwfile, { force: true });
    await singleUser(init, join(building, 'data'), `create database ${pg.escapeIdentifier(init.database)}`);
    await rename(building, template).catch(async (error: NodeJS.ErrnoException) => {
      // Another drill made the same template meanwhile: use theirs.
      if (!(await isDirectory(join(template, 'data')))) throw error;
    });
  } finally {
    await rm(building, { recursive: true, force: true });
  }
}

const BUILDING = 'building-';
/** A build older than this was abandoned (its process was killed): making a template takes seconds. */
const ABANDONED_AFTER_MS = 10 * 60 * 1000;

async function removeAbandonedBuilds(cache: string): Promise<void> {
  for (const name of await readdir(cache).catch(() => [] as string[])) {
    if (!name.startsWith(BUILDING)) continue;
    const info = await lstat(join(cache, name)).catch(() => null);
    if (info && Date.now() - info.mtimeMs > ABANDONED_AFTER_MS) await rm(join(cache, name), { recursive: true, force: true });
  }
}

/** Runs one statement in single-user mode: nothing listens, so nobody can connect while it runs. */
async function singleUser(init: ClusterInit, dataDir: string, statement: string): Promise<void> {
  const output = await runCommand(init.bins.path('postgres'), ['--single', '-F', '-D', dataDir, '-c', 'log_min_messages=warning', 'postgres'], {
    user: init.user,
    signal: init.signal,
    cwd: dataDir,
    input: `${statement};\n`,
  });
  // Single-user mode reports a failed statement on its output but still exits 0.
  const error = /(?:^|\n)\s*(?:ERROR|FATAL|PANIC):\s*(.*)/.exec(`${output.stdout}\n${output.stderr}`);
  if (error) throw new Error(`postgres --single: ${error[1]}`);
}

/**
 * The cache folder exists, is a real directory owned by the server user and private to it; a folder someone
 * else could have planted a template in is never used.
 */
async function ensurePrivateDir(dir: string, user: OsUser | null): Promise<string | null> {
  const uid = user?.uid ?? process.getuid?.();
  try {
    const created = await mkdir(dir, { mode: 0o700, recursive: true });
    if (created !== undefined && user) await chown(dir, user.uid, user.gid);
  } catch (error) {
    return `cannot create ${dir}: ${(error as Error).message}`;
  }
  const info = await lstat(dir);
  if (!info.isDirectory()) return `${dir} is not a directory`;
  if (uid !== undefined && info.uid !== uid) return `${dir} is owned by uid ${info.uid}, not ${uid}`;
  if ((info.mode & 0o077) !== 0) return `${dir} is open to other users (mode ${(info.mode & 0o777).toString(8)}, should be 700)`;
  return null;
}

async function isDirectory(path: string): Promise<boolean> {
  return (await lstat(path).catch(() => null))?.isDirectory() ?? false;
}
