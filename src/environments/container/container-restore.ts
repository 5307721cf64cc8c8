import { describeRestoreFailure, RestoreErrorLog } from '../../postgres/restore-errors.ts';
import { availableParallelism } from 'node:os';
import { basename } from 'node:path';
import type { StartedTestContainer } from 'testcontainers';
import { CommandFailedError, ConfigError } from '../../errors.ts';
import { assertDisposable } from '../../postgres/disposable-database.ts';
import { readDumpHeader, type DumpHeader } from '../../postgres/dump-header.ts';
import { findPgBinaries, parseToolVersion, type PgBinaries } from '../../postgres/pg-binaries.ts';
import { pgRestore } from '../pg-restore.ts';
import { createStandInRoles, rolesNamedInDump } from '../../postgres/stand-in-roles.ts';
import type { LocalDump } from '../../model/recovery-point.ts';
import { dockerExec, type DockerContainer } from './docker-exec.ts';
import type { RestoreOptions, StartedEnvironment } from '../environment.ts';

/**
 * Where `pg_restore` runs: `host` (the host's pg_restore through the container's socket), `container`
 * (the dump is copied in and the image's own pg_restore runs there), or `auto`: the host's when its
 * major version is at least the dump's pg_dump version, else the container's.
 */
export type RestoreWith = 'auto' | 'host' | 'container';

/** How to reach the server from inside its container. */
export interface InsideContainer {
  readonly started: StartedTestContainer;
  readonly container: DockerContainer;
  /** The server's socket folder inside the container (it listens on no TCP address). */
  readonly socketDir: string;
  /** The server's port: the name of its socket. */
  readonly port: number;
  readonly user: string;
  /** A libpq password file inside the container (the password never appears in an exec's environment). */
  readonly passFile: string;
  /**
   * Whether the host reaches the server through a pinned link to its socket (see `pinSocket`). If not (not
   * root), code in the backup could swap the shared socket for a symlink to a server of this machine, and the
   * host's pg_restore (libpq before 16 cannot check whom it reached) would follow it: the container's
   * pg_restore is used instead, whose symlinks can only lead inside the container.
   */
  readonly pinned: boolean;
}

/** Where dumps are copied inside the container. */
const DUMP_DIR = '/var/tmp/restore-drill';

/**
 * Restores a local dump into a started container environment, with pg_restore from the host or inside
 * the container (see {@link RestoreWith}). Either way with owners and privileges (missing roles as NOLOGIN
 * stand-ins), `-j N`, and every failed object's error kept as evidence.
 *
 * @example
 * await restoreDump(env, inside, restorable.dump, 'auto', { log: console.log });
 */
export async function restoreDump(
  env: StartedEnvironment,
  inside: InsideContainer,
  dump: LocalDump,
  restoreWith: RestoreWith,
  options: RestoreOptions,
): Promise<void> {
  const header = await readDumpHeader(dump.path);
  const site = pgRestoreSite(restoreWith, inside.pinned, header.pgDumpMajor);
  if (site.why) options.log(`restore: ${site.why}`);
  if (site.where === 'host') return pgRestore(env, dump, options);
  await assertDisposable(env.connectionConfig(), env.runId);
  await pgRestoreInContainer(env, inside, dump, header, options);
}

/**
 * Where pg_restore runs for a dump of pg_dump `dumpMajor` (see {@link RestoreWith}), and why when it was not
 * asked for by name. The host's only through a pinned socket; `host` without one is a ConfigError.
 *
 * @example
 * pgRestoreSite('auto', true, 15); // { where: 'host', why: "the host's pg_restore 15.8 reads this dump …" }
 */
export function pgRestoreSite(
  restoreWith: RestoreWith,
  pinned: boolean,
  dumpMajor: number,
): { where: 'host' | 'container'; why?: string } {
  if (restoreWith === 'container') return { where: 'container' };
  if (!pinned) {
    if (restoreWith === 'host') {
      throw new ConfigError(
        "restoreWith 'host' needs the server's socket pinned, and only root can link the container account's socket",
        "use restoreWith 'auto' or 'container' (the container's own pg_restore), or run restore-drill as root",
      );
    }
    return {
      where: 'container',
      why: "the server's socket could not be pinned (not root): running the container's pg_restore, which a swapped socket cannot lead out of the container",
    };
  }
  if (restoreWith === 'host') return { where: 'host' };
  const host = hostPgRestore(dumpMajor);
  return host
    ? {
        where: 'host',
        why: `the host's pg_restore ${host.version} reads this dump (pg_dump ${dumpMajor}); restoring from the host`,
      }
    : {
        where: 'container',
        why: `no pg_restore ${dumpMajor} or newer on the host; running the container's pg_restore`,
      };
}

/** The host's pg_restore when one can read a dump of pg_dump `minMajor`, else null. */
export function hostPgRestore(minMajor: number): PgBinaries | null {
  try {
    return findPgBinaries({ tools: ['pg_restore'], minMajor });
  } catch (error) {
    if (error instanceof ConfigError) return null;
    throw error;
  }
}

async function pgRestoreInContainer(
  env: StartedEnvironment,
  inside: InsideContainer,
  dump: LocalDump,
  header: DumpHeader,
  options: RestoreOptions,
): Promise<void> {
  const database = env.database;
  const { container, started } = inside;
  const exec = (command: string[], onStderrLine?: (line: string) => void) =>
    dockerExec(container, command, {
      user: 'root',
      env: { PGPASSFILE: inside.passFile, PGSSLMODE: 'disable' },
      signal: options.signal,
      onStderrLine,
    });
  const version = parseToolVersion(await exec(['pg_restore', '--version']));
  const major = Number(version?.split('.')[0] ?? 0);
  if (major < header.pgDumpMajor) {
    throw new ConfigError(
      `dump ${dump.path} was made by pg_dump ${header.pgDumpVersion}, newer than the container's pg_restore ${version ?? '(unknown)'}${inside.pinned ? ' and every pg_restore on the host' : " (the host's is not used: the socket is not pinned)"}`,
      `run an image of PostgreSQL ${header.pgDumpMajor} or newer (containerPostgres({ image: 'postgres:${header.pgDumpMajor}' })) or install PostgreSQL ${header.pgDumpMajor} client tools on the host`,
    );
  }
  const target = `${DUMP_DIR}/${basename(dump.path)}`;
  options.log(`restore: copying the ${dump.format} dump into the container (${target})`);
  if (dump.format === 'directory') await started.copyDirectoriesToContainer([{ source: dump.path, target }]);
  else await started.copyFilesToContainer([{ source: dump.path, target, mode: 0o600 }]);

  const total = options.progress ? await countTableData(exec, target) : 0;
  // Owners and privileges are restored, as on the host: missing roles get NOLOGIN stand-ins first.
  await createStandInRoles(
    env.connectionConfig(),
    await rolesNamedInDump((args) => exec(['pg_restore', ...args]), target, options.log),
    env.runId,
    options.log,
  );
  const jobs = Math.max(1, options.jobs ?? availableParallelism());
  // No --exit-on-error, as on the host: one object that fails to load must not end the restore, and its own
  // ERROR/DETAIL lines (not "a worker process died") are the evidence.
  const args = [
    '--verbose',
    `--jobs=${jobs}`,
    `--host=${inside.socketDir}`,
    `--port=${inside.port}`,
    `--username=${inside.user}`,
    `--dbname=${database}`,
    target,
  ];
  options.log(`restoring ${dump.format} dump with the container's pg_restore ${version} (${jobs} jobs)`);
  let tables = 0;
  const errors = new RestoreErrorLog();
  try {
    await exec(['pg_restore', ...args], (line) => {
      errors.line(line);
      if (!/processing data for table/.test(line)) return;
      tables += 1;
      options.progress?.(tables, Math.max(total, tables));
      if (tables % 10 === 0) options.log(`restore: ${tables} tables loaded`);
    });
  } catch (error) {
    if (!(error instanceof CommandFailedError)) throw error;
    throw describeRestoreFailure(error, errors, options.log);
  }
  options.log(`restore: done (${tables} tables with data)`);
}

async function countTableData(exec: (command: string[]) => Promise<string>, path: string): Promise<number> {
  try {
    return (await exec(['pg_restore', '--list', path]))
      .split('\n')
      .filter((line) => /^\d+; \d+ \d+ TABLE DATA /.test(line)).length;
  } catch {
    return 0;
  }
}
