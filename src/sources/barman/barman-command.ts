// Running the `barman` command for one server: the same configuration for every subcommand, JSON output
// where it is read, and its errors turned into one line. Barman runs outside the restore sandbox: it is the
// trusted reader of its own repository; nothing of the backup executes there.

import { ConfigError } from '../../errors.ts';
import { runCommand } from '../../postgres/run-command.ts';
import { redact } from '../../util/redact.ts';

/** Which Barman server, and which configuration names it. */
export interface BarmanServer {
  /** The server's name (its section in the Barman configuration). */
  readonly server: string;
  /** `barman.conf` (default: Barman's own lookup, /etc/barman.conf). */
  readonly config?: string;
}

/**
 * Runs `barman <command> <args>` for `server` (`json`: with `-f json`) and returns its stdout; a failure is a ConfigError
 * carrying Barman's own error line (an unknown server, a missing backup, an unreadable configuration).
 */
export async function barman(
  server: BarmanServer,
  command: string,
  args: readonly string[],
  options: { readonly json?: boolean; readonly signal?: AbortSignal; readonly env?: Record<string, string> } = {},
): Promise<string> {
  const common = [...(server.config ? ['-c', server.config] : []), ...(options.json ? ['-f', 'json'] : [])];
  let output;
  try {
    output = await runCommand('barman', [...common, command, ...args], {
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.env ? { env: options.env } : {}),
      acceptExitCodes: [1, 2],
    });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new ConfigError('barman is not installed', 'install it (apt-get install barman)');
    }
    throw error;
  }
  // Barman reports errors on stderr (`ERROR: …`) or, with -f json, on stdout (`{"_ERROR": [...]}`); some
  // commands exit 0 after one (verify-backup, recover).
  const error = barmanError(output.stdout) ?? barmanError(redact(output.stderr));
  if (output.exitCode !== 0 || error) {
    throw new ConfigError(
      `barman ${command} for server "${server.server}" failed: ${error ?? `exit code ${output.exitCode}`}`,
      'check the server name and the Barman configuration (barman -c FILE show-servers all)',
    );
  }
  return output.stdout;
}

/** Barman's first error line in `text`, from `ERROR: …` lines or a JSON `_ERROR` list; null when none. */
function barmanError(text: string): string | null {
  const line = text.split('\n').find((l) => /^\s*ERROR:/.test(l));
  if (line) return line.replace(/^\s*ERROR:\s*/, '').trim();
  const json = /"_ERROR":\s*\[\s*"((?:[^"\\]|\\.)*)"/.exec(text);
  return json ? (JSON.parse(`"${json[1]}"`) as string) : null;
}
