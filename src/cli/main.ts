import { Command, CommanderError, Option } from 'commander';
import { RestoreDrillError } from '../errors.ts';
import { redact } from '../util/redact.ts';
import { interruptSignal } from '../drill/interrupt.ts';
import { TOOL_VERSION } from '../drill/tool-version.ts';
import { registerCheckCommand } from './check.ts';
import { registerCleanupCommand } from './cleanup.ts';
import { registerControlsCommand } from './controls.ts';
import { registerDumpCommand } from './dump.ts';
import { registerHistoryCommand } from './history.ts';
import { registerInitCommand } from './init.ts';
import { registerKeygenCommand } from './keygen.ts';
import { registerMarkCommand } from './mark.ts';
import { registerRunCommand } from './run.ts';
import { registerVerifyCommand } from './verify.ts';

/** Exit codes of DESIGN.md: 0 success, 1 a drill failed / a report is invalid, 2 usage or configuration error. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/** A command's action returns its exit code. */
export type CommandResult = Promise<number>;

/**
 * Runs the `restore-drill` command line and returns the exit code. Errors that are the user's to fix
 * print as one line (what is wrong; what to do) without a stack trace.
 */
export async function main(argv: string[]): Promise<number> {
  ignoreClosedOutput();
  let exitCode: number = EXIT.ok;
  const program = new Command('restore-drill')
    .description('Proves backups can be restored: restore, verify against markers, time against RTO/RPO, sign a report.')
    .version(TOOL_VERSION)
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({ writeErr: (text) => process.stderr.write(text), outputError: () => {} });
  const setExit = (code: number) => {
    exitCode = code;
  };
  for (const register of [
    registerRunCommand,
    registerCheckCommand,
    registerMarkCommand,
    registerDumpCommand,
    registerVerifyCommand,
    registerKeygenCommand,
    registerControlsCommand,
    registerHistoryCommand,
    registerCleanupCommand,
    registerInitCommand,
  ]) {
    const command = register(program, setExit);
    command.exitOverride().configureOutput({ outputError: () => {} });
  }
  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (error) {
    return reportError(error);
  } finally {
    if (interruptSignal()) exitSoon();
  }
}

/**
 * After an interrupted command has written its report: an abandoned phase may still hold a socket or a
 * timer (a stalled S3 request, a query the server never answers) that would keep the process alive for
 * good. Once the exit code is set, leave a moment for output to drain, then exit whatever is left.
 */
function exitSoon(): void {
  setTimeout(() => process.exit(), 2000).unref();
}

/**
 * `restore-drill history reports | head`: once the reader has gone, writing to stdout fails with EPIPE, which
 * Node throws as an unhandled 'error' event (a stack trace). The command carries on without that output, so
 * a drill still writes its report and tears down.
 */
function ignoreClosedOutput(): void {
  for (const stream of [process.stdout, process.stderr]) {
    if (stream.listeners('error').includes(onOutputError)) continue;
    stream.on('error', onOutputError);
  }
}

function onOutputError(error: NodeJS.ErrnoException): void {
  if (error.code === 'EPIPE' || error.code === 'ERR_STREAM_DESTROYED') return;
  throw error;
}

/** Prints an error as one line and returns the exit code it maps to. */
export function reportError(error: unknown): number {
  if (error instanceof CommanderError) {
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') return EXIT.ok;
    const message = error.message.replace(/^error:\s*/, '').split('\n').map((l) => l.trim()).filter(Boolean).join(' ');
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
  process.stderr.write(`restore-drill: unexpected error: ${redact(message.split('\n')[0] ?? '')} (set RESTORE_DRILL_DEBUG=1 for details)\n`);
  if (process.env.RESTORE_DRILL_DEBUG) process.stderr.write(`${redact(String((error as Error)?.stack ?? error))}\n`);
  return EXIT.failed;
}

/** The `--signing-key` option shared by `run` and `check`. */
export function signingKeyOption(): Option {
  return new Option(
    '--signing-key <path|kms://key>',
    'Ed25519 private key (PEM) or AWS KMS key (kms://<key id | alias/name | ARN>) to sign reports with; default $RESTORE_DRILL_SIGNING_KEY, else a local demo key (never under CI)',
  );
}

/** The `--notify` option shared by `run` and `check` (see ci-outputs.ts). */
export function notifyOption(): Option {
  return new Option('--notify <url>', 'POST a short JSON message (Slack-compatible) for each failed or errored drill; default $RESTORE_DRILL_NOTIFY (keeps the webhook token out of the process list)');
}

/** The `--metrics-file` option shared by `run` and `check`. */
export function metricsFileOption(): Option {
  return new Option('--metrics-file <path.prom>', "write drill results as Prometheus metrics for node_exporter's textfile collector");
}

/** The `--pushgateway` option shared by `run` and `check`. */
export function pushgatewayOption(): Option {
  return new Option('--pushgateway <url>', 'also push drill results to this Prometheus Pushgateway');
}

/** The `--report-dir` option shared by `run` and `check`. */
export function reportDirOption(): Option {
  return new Option('--report-dir <dir>', 'where signed reports are written').default('reports');
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
