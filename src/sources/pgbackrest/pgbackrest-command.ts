// Running the `pgbackrest` command for a stanza: the same repository options for every subcommand, logs to
// stderr only (no log files, locks in a private folder), its errors turned into one line. The repository's
// cipher pass is never an argument: pgBackRest reads it from its config or `PGBACKREST_REPO1_CIPHER_PASS`.

import { ConfigError, CommandFailedError } from '../../errors.ts';
import { runCommand } from '../../postgres/run-command.ts';

/** Where a stanza's repository is: the options every `pgbackrest` call for it gets. */
export interface PgBackRestRepo {
  readonly stanza: string;
  /** `pgbackrest.conf` (default: pgBackRest's own lookup, /etc/pgbackrest/pgbackrest.conf); a relative path is from the working directory. */
  readonly config?: string;
  /** `repo1-path`, when not set in the config. */
  readonly repo?: string;
}

/** Runs `pgbackrest <command>` for `repo`; a failure is a ConfigError (bad stanza, repo, cipher) carrying pgBackRest's own line. */
export async function pgbackrest(
  repo: PgBackRestRepo,
  command: string,
  args: readonly string[],
  options: { readonly lockPath?: string; readonly signal?: AbortSignal } = {},
): Promise<string> {
  try {
    return await run(repo, command, args, options);
  } catch (error) {
    throw translated(repo, command, error);
  }
}

/**
 * Fetches one WAL segment (or history file) of `repo` into `file` with `pgbackrest archive-get`; false when the
 * archive does not hold it. Any other failure (stanza, cipher, a pg_control that does not match) throws as
 * {@link pgbackrest} does.
 *
 * @example
 * const found = await archiveGet(repo, '000000010000000000000003', join(stage, '000000010000000000000003'), { pgPath, lockPath });
 */
export async function archiveGet(
  repo: PgBackRestRepo,
  segment: string,
  file: string,
  options: { readonly pgPath: string; readonly lockPath: string; readonly signal?: AbortSignal },
): Promise<boolean> {
  try {
    // pg1-path: archive-get checks the restored cluster's pg_control against the stanza.
    await run(repo, 'archive-get', [`--pg1-path=${options.pgPath}`, segment, file], options);
    return true;
  } catch (error) {
    // archive-get exits 1 and says nothing at level error when the segment is not in the archive.
    if (error instanceof CommandFailedError && error.code === 1 && !/ERROR/.test(error.stderrTail)) return false;
    throw translated(repo, 'archive-get', error);
  }
}

async function run(
  repo: PgBackRestRepo,
  command: string,
  args: readonly string[],
  options: { readonly lockPath?: string; readonly signal?: AbortSignal },
): Promise<string> {
  const common = [
    `--stanza=${repo.stanza}`,
    ...(repo.config ? [`--config=${repo.config}`] : []),
    ...(repo.repo ? [`--repo1-path=${repo.repo}`] : []),
    ...(options.lockPath ? [`--lock-path=${options.lockPath}`] : []), // verify takes none
    '--log-level-file=off',
    '--log-level-console=off',
    '--log-level-stderr=error',
  ];
  return (await runCommand('pgbackrest', [...common, command, ...args], { signal: options.signal })).stdout;
}

function translated(repo: PgBackRestRepo, command: string, error: unknown): unknown {
  if (error instanceof CommandFailedError) {
    const line = error.stderrTail.split('\n').find((l) => /ERROR/.test(l)) ?? error.stderrTail.split('\n')[0] ?? '';
    return new ConfigError(
      `pgbackrest ${command} for stanza "${repo.stanza}" failed: ${line.replace(/^.*?ERROR:\s*/, '').trim()}`,
      'check the stanza name, the repository (config, repo1-path) and its cipher pass (PGBACKREST_REPO1_CIPHER_PASS)',
    );
  }
  if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
    return new ConfigError('pgbackrest is not installed', 'install it (apt-get install pgbackrest)');
  }
  return error;
}
