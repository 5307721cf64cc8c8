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
  const common = [
    `--stanza=${repo.stanza}`,
    ...(repo.config ? [`--config=${repo.config}`] : []),
    ...(repo.repo ? [`--repo1-path=${repo.repo}`] : []),
    ...(options.lockPath ? [`--lock-path=${options.lockPath}`] : []), // verify takes none
    '--log-level-file=off',
    '--log-level-console=off',
    '--log-level-stderr=error',
  ];
  try {
    return (await runCommand('pgbackrest', [...common, command, ...args], { signal: options.signal })).stdout;
  } catch (error) {
    if (error instanceof CommandFailedError) {
      // archive-get exits 1, saying nothing at level error, when the segment is not in the archive.
      if (command === 'archive-get' && error.code === 1 && !/ERROR/.test(error.stderrTail)) {
        throw new ConfigError(
          `pgbackrest archive-get for stanza "${repo.stanza}": unable to find ${args[args.length - 2] ?? 'the segment'} in the archive`,
          'check the archive (pgbackrest info), or restore to a target before the missing segment',
        );
      }
      const line = error.stderrTail.split('\n').find((l) => /ERROR/.test(l)) ?? error.stderrTail.split('\n')[0] ?? '';
      throw new ConfigError(
        `pgbackrest ${command} for stanza "${repo.stanza}" failed: ${line.replace(/^.*?ERROR:\s*/, '').trim()}`,
        'check the stanza name, the repository (config, repo1-path) and its cipher pass (PGBACKREST_REPO1_CIPHER_PASS)',
      );
    }
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new ConfigError('pgbackrest is not installed', 'install it (apt-get install pgbackrest)');
    }
    throw error;
  }
}
