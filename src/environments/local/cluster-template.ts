import { createHash, randomBytes } from 'node:crypto';
import { lstat, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PgBinaries } from '../../postgres/pg-binaries.ts';
import { runCommand, type OsUser, type RunOptions } from '../../postgres/run-command.ts';
import { mapLimit } from '../../util/map-limit.ts';

/**
 * What a new cluster needs from initdb: the same for every drill, so it is made once and copied. The
 * cluster's own sandboxed tools do the work; the template itself never enters a sandbox.
 */
export interface ClusterInit {
  readonly bins: PgBinaries;
  /** The superuser initdb creates. */
  readonly superuser: string;
  /** initdb's arguments besides the data dir, the superuser and its password. */
  readonly initdbArgs: readonly string[];
  /** A database created in the template, so a new cluster does not have to create it. */
  readonly database: string;
  /** Who must own the copy: the server's identity (null: this process's user). */
  readonly owner: OsUser | null;
  readonly signal?: AbortSignal;
  readonly log: (line: string) => void;
  /** Runs initdb (with a password nobody learns) into the cluster's empty data directory, in its sandbox. */
  initdb(): Promise<void>;
  /** Runs one statement in single-user mode on the cluster's data directory, in its sandbox. */
  singleUser(statement: string): Promise<void>;
}

/** Bump when the template's contents or checks change, so caches of an older layout are not used. */
const TEMPLATE_LAYOUT = 2;

/**
 * Where templates are cached: `RESTORE_DRILL_CACHE_DIR`, else a folder of the invoking user's in the OS temp
 * dir (versioned, so caches that older code let the server write are never used). It belongs to the invoking
 * user, mode 700, and no sandbox shows it: the server identity can neither see nor change it. Not named
 * `restore-drill-…`, so leftover scans never look at it.
 */
export function templateCacheDir(): string {
  const uid = process.getuid?.() ?? 0;
  return process.env.RESTORE_DRILL_CACHE_DIR ?? join(tmpdir(), `restore-drill.cache-v${TEMPLATE_LAYOUT}-${uid}`);
}

/**
 * Makes `dataDir` (empty, owned by the server identity) a fresh data directory by copying a cached one that
 * initdb made earlier (once per binaries and options) instead of running initdb: 0.5–1 s of every drill.
 * The first cluster makes the template: initdb and the database in its own data directory, then a copy of
 * that into the cache. Each template carries a digest of its files and a stamp of their metadata: a copy is
 * trusted when the stamp did not move while it was made, else the digest is recomputed while the copy is
 * made; a template that changed since is discarded (logged) and made again, and its copy is not used. Returns why
 * no template could be used (the caller then runs initdb itself).
 *
 * @example
 * const why = await copyClusterTemplate(init, join(dir, 'data'));
 * if (why) await init.initdb();
 */
export async function copyClusterTemplate(init: ClusterInit, dataDir: string): Promise<string | null> {
  const cache = templateCacheDir();
  const problem = await ensurePrivateDir(cache);
  if (problem) return problem;
  const key = createHash('sha256')
    .update(
      JSON.stringify([
        TEMPLATE_LAYOUT,
        init.bins.path('initdb'),
        init.bins.version,
        init.superuser,
        init.database,
        init.initdbArgs,
      ]),
    )
    .digest('hex')
    .slice(0, 16);
  const template = join(cache, `pg${init.bins.version}-${key}`);
  const run: RunOptions = { signal: init.signal, cwd: cache };
  const expected = await readFile(join(template, DIGEST_FILE), 'utf8').catch(() => null);
  if (expected && (await isDirectory(join(template, 'data')))) {
    if (await copyIfUnchanged(join(template, 'data'), dataDir, join(template, STAMP_FILE), run)) {
      if (init.owner) await runCommand('chown', ['-R', `${init.owner.uid}:${init.owner.gid}`, dataDir], run);
      return null;
    }
    const [actual] = await Promise.all([
      treeDigest(join(template, 'data')),
      copyDataDir(join(template, 'data'), dataDir, run),
    ]);
    if (actual === expected.trim()) {
      if (init.owner) await runCommand('chown', ['-R', `${init.owner.uid}:${init.owner.gid}`, dataDir], run);
      return null;
    }
    init.log(
      `provision: the cached initdb template ${template} changed since it was made (digest ${actual.slice(0, 12)}…, recorded ${expected.trim().slice(0, 12)}…): discarded, making it again`,
    );
    await rm(template, { recursive: true, force: true });
    await emptyDir(dataDir);
  } else if (await isDirectory(template)) {
    // Published templates always carry their digest: one without it was tampered with (or is half-removed).
    init.log(`provision: the cached initdb template ${template} has no digest: discarded, making it again`);
    await rm(template, { recursive: true, force: true });
  }
  await makeTemplate(init, dataDir, cache, template);
  return null;
}

/**
 * initdb and the database in the cluster's own data directory (sandboxed, like everything the server identity
 * runs), then a copy into a private folder of the cache, owned by this process's user, with its digest, and
 * an atomic rename: parallel first uses are safe, and the cluster goes on with the data directory it made.
 */
async function makeTemplate(init: ClusterInit, dataDir: string, cache: string, template: string): Promise<void> {
  await init.initdb();
  await init.singleUser(`create database "${init.database.replace(/"/g, '""')}"`);
  await removeAbandonedBuilds(cache);
  const building = join(cache, `${BUILDING}${randomBytes(6).toString('hex')}`);
  try {
    await mkdir(building, { mode: 0o700 });
    // Not -p: the copy belongs to this process's user, not to the server identity that made the original.
    await runCommand('cp', ['-R', '--preserve=mode,timestamps', dataDir, join(building, 'data')], {
      signal: init.signal,
      cwd: cache,
    });
    await writeFile(join(building, DIGEST_FILE), `${await treeDigest(join(building, 'data'))}\n`, { mode: 0o600 });
    const stamp = await treeStamp(join(building, 'data'));
    if (stamp) await writeFile(join(building, STAMP_FILE), `${stamp}\n`, { mode: 0o600 });
    await rename(building, template).catch(async (error: NodeJS.ErrnoException) => {
      // Another drill made the same template meanwhile: keep theirs.
      if (!(await isDirectory(join(template, 'data')))) throw error;
    });
  } finally {
    await rm(building, { recursive: true, force: true });
  }
}

const DIGEST_FILE = 'digest';
const STAMP_FILE = 'stamp';

/**
 * The fast path of a template copy: when the template's {@link treeStamp} is the one recorded when it was made,
 * both before and after the copy, no file of it can have changed (a change of contents, mode or name moves a
 * ctime, which only root can set back), so the copy is the template as made, without hashing 46 MB of files
 * for every drill. Anything else (no recorded stamp, a filesystem with coarse ctimes, a stamp that moved) goes
 * the slow way: the content digest decides. A template that changed during the copy leaves `dataDir` empty.
 */
async function copyIfUnchanged(
  template: string,
  dataDir: string,
  stampFile: string,
  run: RunOptions,
): Promise<boolean> {
  const recorded = (await readFile(stampFile, 'utf8').catch(() => '')).trim();
  if (!recorded || (await treeStamp(template)) !== recorded) return false;
  await copyDataDir(template, dataDir, run);
  if ((await treeStamp(template)) === recorded) return true;
  await emptyDir(dataDir);
  return false;
}

/**
 * A stamp of a directory tree's metadata: every entry's relative path, type, mode, size, inode and change
 * time in nanoseconds, in name order. Null on a filesystem whose change times are whole seconds, where a
 * change within the same second would not move the stamp.
 *
 * @example
 * await treeStamp('/tmp/restore-drill.cache-v2-0/pg15.18-…/data'); // '41d0…' (or null)
 */
export async function treeStamp(root: string): Promise<string | null> {
  const entries: string[] = [];
  let fine = false;
  const walk = async (dir: string, rel: string): Promise<void> => {
    for (const name of (await readdir(dir)).sort()) {
      const info = await lstat(join(dir, name), { bigint: true });
      const path = rel ? `${rel}/${name}` : name;
      fine ||= info.ctimeNs % 1_000_000_000n !== 0n;
      entries.push(`${path}\0${info.mode}\0${info.size}\0${info.ino}\0${info.ctimeNs}`);
      if (info.isDirectory()) await walk(join(dir, name), path);
    }
  };
  await walk(root, '');
  return fine ? createHash('sha256').update(entries.join('\n')).digest('hex') : null;
}

/**
 * A digest of a directory tree: every entry's relative path, type, mode and size, and a hash of each file's
 * contents, in name order. A symlink, device or socket is not something initdb makes: it gives a digest no
 * recorded one can match.
 *
 * @example
 * await treeDigest('/tmp/restore-drill.cache-v2-0/pg15.18-…/data'); // '9f2c…'
 */
export async function treeDigest(root: string): Promise<string> {
  const entries: string[] = [];
  const files: string[] = [];
  const walk = async (dir: string, rel: string): Promise<void> => {
    for (const name of (await readdir(dir)).sort()) {
      const info = await lstat(join(dir, name));
      const path = rel ? `${rel}/${name}` : name;
      const type = info.isDirectory() ? 'd' : info.isFile() ? 'f' : `other:${randomBytes(8).toString('hex')}`;
      entries.push(`${path}\0${type}\0${(info.mode & 0o7777).toString(8)}\0${info.isFile() ? info.size : 0}`);
      if (info.isDirectory()) await walk(join(dir, name), path);
      else if (info.isFile()) files.push(path);
    }
  };
  await walk(root, '');
  // sha1 is the fastest hash with CPU support here; the outer digest is SHA-256.
  const sums = await mapLimit(
    files,
    16,
    async (path) =>
      `${path}\0${createHash('sha1')
        .update(await readFile(join(root, path)))
        .digest('hex')}`,
  );
  return createHash('sha256').update(entries.join('\n')).update('\n\n').update(sums.join('\n')).digest('hex');
}

/**
 * `cp -Rp` of a data directory into an existing empty one, in a few parallel parts (each database's folder,
 * the rest): creating its ≈ 1,000 small files is what copying costs, and on virtual disks that waits on I/O
 * rather than CPU — four copies at once took half the time of one here.
 */
async function copyDataDir(from: string, to: string, run: RunOptions): Promise<void> {
  const top = await readdir(from);
  const databases = (await readdir(join(from, 'base'))).map((name) => join(from, 'base', name));
  await runCommand('mkdir', ['-m', '700', join(to, 'base')], run);
  const parts: Array<[string[], string]> = [
    ...databases.map((dir): [string[], string] => [[dir], join(to, 'base')]),
    [top.filter((name) => name !== 'base').map((name) => join(from, name)), to],
  ];
  await mapLimit(parts, 4, ([sources, target]) => runCommand('cp', ['-Rp', ...sources, target], run));
}

async function emptyDir(dir: string): Promise<void> {
  for (const name of await readdir(dir)) await rm(join(dir, name), { recursive: true, force: true });
}

const BUILDING = 'building-';
/** A build older than this was abandoned (its process was killed): making a template takes seconds. */
const ABANDONED_AFTER_MS = 10 * 60 * 1000;

async function removeAbandonedBuilds(cache: string): Promise<void> {
  for (const name of await readdir(cache).catch(() => [] as string[])) {
    if (!name.startsWith(BUILDING)) continue;
    const info = await lstat(join(cache, name)).catch(() => null);
    if (info && Date.now() - info.mtimeMs > ABANDONED_AFTER_MS)
      await rm(join(cache, name), { recursive: true, force: true });
  }
}

/**
 * The cache folder exists, is a real directory owned by this process's user and private to it; a folder
 * someone else could have planted a template in is never used.
 */
async function ensurePrivateDir(dir: string): Promise<string | null> {
  const uid = process.getuid?.();
  try {
    await mkdir(dir, { mode: 0o700, recursive: true });
  } catch (error) {
    return `cannot create ${dir}: ${(error as Error).message}`;
  }
  const info = await lstat(dir);
  if (!info.isDirectory()) return `${dir} is not a directory`;
  if (uid !== undefined && info.uid !== uid) return `${dir} is owned by uid ${info.uid}, not ${uid}`;
  if ((info.mode & 0o077) !== 0)
    return `${dir} is open to other users (mode ${(info.mode & 0o777).toString(8)}, should be 700)`;
  return null;
}

async function isDirectory(path: string): Promise<boolean> {
  return (await lstat(path).catch(() => null))?.isDirectory() ?? false;
}
