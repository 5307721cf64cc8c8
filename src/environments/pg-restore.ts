import { availableParallelism } from 'node:os';
import { CommandFailedError, ConfigError } from '../errors.ts';
import type { RestoreOptions, StartedEnvironment } from './environment.ts';
import type { LocalDump } from '../model/recovery-point.ts';
import { assertDisposable } from '../postgres/disposable-database.ts';
import { readDumpHeader } from '../postgres/dump-header.ts';
import { describeRestoreFailure, RestoreErrorLog } from '../postgres/restore-errors.ts';
import { findPgBinaries } from '../postgres/pg-binaries.ts';
import { runCommand } from '../postgres/run-command.ts';
import { createStandInRoles, rolesNamedInDump } from '../postgres/stand-in-roles.ts';
import { TableDataTracker } from '../postgres/table-data-tracker.ts';

/**
 * Restores a local `pg_dump` archive into a started environment with `pg_restore -j <cores>`. The
 * password travels in PGPASSWORD, never in the process list. A dump written by a newer pg_dump than
 * the local pg_restore is refused up front with both versions named.
 *
 * pg_restore runs without `--exit-on-error`, so an object that fails to load (a foreign key the data
 * violates, a missing extension) does not stop it: it restores what it can and this throws
 * {@link RestoreIncompleteError} with every error's lines, so the drill can still compare what came back.
 * An archive pg_restore cannot read, or a database that fails under it, throws {@link RestoreFailedError}.
 */
export async function pgRestore(env: StartedEnvironment, dump: LocalDump, options: RestoreOptions): Promise<void> {
  await assertDisposable(env.connectionConfig(), env.runId);
  const header = await readDumpHeader(dump.path);
  let pg;
  try {
    pg = findPgBinaries({ tools: ['pg_restore'], minMajor: header.pgDumpMajor });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    throw new ConfigError(
      `dump ${dump.path} was made by pg_dump ${header.pgDumpVersion} (archive format ${header.archiveVersion}, server ${header.serverVersion}), ` +
        `which is newer than every local pg_restore: ${error.message}`,
      `install PostgreSQL ${header.pgDumpMajor} client tools (e.g. apt-get install postgresql-client-${header.pgDumpMajor}) ` +
        `or set RESTORE_DRILL_PG_BIN to their bin folder`,
    );
  }
  const jobs = Math.max(1, options.jobs ?? availableParallelism());
  // Owners and privileges are restored (and then compared with the object fingerprint): the roles they name
  // must exist, so missing ones get NOLOGIN stand-ins first.
  const listRoles = async (args: readonly string[]) =>
    (await runCommand(pg.path('pg_restore'), args, { signal: options.signal })).stdout;
  await createStandInRoles(
    env.connectionConfig(),
    await rolesNamedInDump(listRoles, dump.path, options.log),
    env.runId,
    options.log,
  );
  // Only the database name goes on the command line; host, user and password travel in libpq's env vars.
  // No --no-owner/--no-privileges: owners and grants come back and are compared with the object fingerprint.
  // No --exit-on-error: with it, one object that fails to load ends the restore (and with -j N the worker's
  // error is buried under "a worker process died unexpectedly"), leaving nothing to verify.
  const args = ['--verbose', `--jobs=${jobs}`, `--dbname=${env.database}`, dump.path];
  options.log(`restoring ${dump.format} dump with ${pg.path('pg_restore')} ${pg.version} (${jobs} jobs)`);
  // Which tables are restored far enough to be read, so their checksums can start while pg_restore goes on.
  const onTableRestored = options.onTableRestored;
  const tracker = onTableRestored
    ? await TableDataTracker.forDump(pg.path('pg_restore'), dump.path, jobs, onTableRestored, {
        signal: options.signal,
        onWorkers: options.onRestoreWorkers,
      })
    : undefined;
  // For a progress display: how many tables have data, from the dump's table of contents (read once, while
  // the restore starts; until then the count so far stands in for the total).
  let total = tracker ? tracker.tablesWithData : 0;
  if (options.progress && !tracker)
    void countTableData(pg.path('pg_restore'), dump.path, options.signal).then((n) => (total = n));
  let tables = 0;
  const errors = new RestoreErrorLog();
  try {
    await runCommand(pg.path('pg_restore'), args, {
      env: env.libpqEnv(),
      signal: options.signal,
      onStderrLine: (line) => {
        errors.line(line);
        tracker?.line(line);
        if (/processing data for table/.test(line)) {
          tables += 1;
          options.progress?.(tables, Math.max(total, tables));
          if (tables % 10 === 0) options.log(`restore: ${tables} tables loaded`);
        }
      },
    });
    tracker?.end();
  } catch (error) {
    if (!(error instanceof CommandFailedError)) throw error;
    throw describeRestoreFailure(error, errors, options.log);
  }
  options.log(`restore: done (${tables} tables with data)`);
}

/** The number of `TABLE DATA` entries in a dump's table of contents (`pg_restore -l`); 0 if it cannot be read. */
async function countTableData(pgRestoreBin: string, path: string, signal?: AbortSignal): Promise<number> {
  try {
    const { stdout } = await runCommand(pgRestoreBin, ['--list', path], { signal });
    return stdout.split('\n').filter((line) => /^\d+; \d+ \d+ TABLE DATA /.test(line)).length;
  } catch {
    return 0;
  }
}
