import { CommanderError } from 'commander';
import { RestoreDrillError } from '../errors.ts';
import { redact } from '../util/redact.ts';
import { EXIT } from './exit-codes.ts';

/** Prints an error as one line and returns the exit code it maps to. */
export function reportError(error: unknown): number {
  if (error instanceof CommanderError) {
    if (
      error.code === 'commander.helpDisplayed' ||
      error.code === 'commander.version' ||
      error.code === 'commander.help'
    )
      return EXIT.ok;
    const message = error.message
      .replace(/^error:\s*/, '')
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)
      .join(' ');
    process.stderr.write(`restore-drill: ${message} (see restore-drill --help)\n`);
    return EXIT.usage;
  }
  if (error instanceof RestoreDrillError) {
    process.stderr.write(`restore-drill: ${redact(error.message)}${error.hint ? ` — ${redact(error.hint)}` : ''}\n`);
    return error.exitCode;
  }
  const connection = connectionProblem(error);
  if (connection) {
    process.stderr.write(`restore-drill: ${connection}\n`);
    return EXIT.usage;
  }
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(
    `restore-drill: unexpected error: ${redact(message.split('\n')[0] ?? '')} (set RESTORE_DRILL_DEBUG=1 for details)\n`,
  );
  if (process.env.RESTORE_DRILL_DEBUG) process.stderr.write(`${redact(String((error as Error)?.stack ?? error))}\n`);
  return EXIT.failed;
}

// Errors from `pg` and the network that mean "that database cannot be reached as configured": the
// user's to fix (URL, server, credentials), so they get one line and exit 2 like any usage error.
const CONNECTION_CODES: Record<string, string> = {
  ECONNREFUSED: 'connection refused: is the server running and the host and port right?',
  ENOTFOUND: 'host not found: check the host name in the URL',
  EHOSTUNREACH: 'host unreachable: check the network and the host in the URL',
  ETIMEDOUT: 'connection timed out: check the host, port and firewall',
  '28P01': 'password authentication failed: check the user and password (PGPASSWORD or ~/.pgpass)',
  '28000': 'the server refused the login: check pg_hba.conf and the user',
  '3D000': 'the database does not exist: check the database name in the URL',
};

function connectionProblem(error: unknown): string | null {
  // pg says this without a code when the URL asks for TLS (sslmode=require, verify-ca, verify-full) and the server has none.
  if (error instanceof Error && /server does not support SSL connections/i.test(error.message)) {
    return 'cannot connect to the database — the server does not support TLS (SSL), but the URL asks for it (sslmode=require): connect to an endpoint that has TLS, or drop sslmode=require only on a network you trust';
  }
  const code = (error as { code?: unknown })?.code;
  if (typeof code !== 'string' || !(code in CONNECTION_CODES)) return null;
  return `cannot connect to the database — ${CONNECTION_CODES[code]}`;
}
