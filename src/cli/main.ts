import { Command, CommanderError, Option } from 'commander';
import { RestoreDrillError } from '../errors.ts';
import { redact } from '../util/redact.ts';
import { TOOL_VERSION } from '../drill/tool-version.ts';
import { registerCheckCommand } from './check.ts';
import { registerCleanupCommand } from './cleanup.ts';
import { registerDumpCommand } from './dump.ts';
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
    registerCleanupCommand,
  ]) {
    const command = register(program, setExit);
    command.exitOverride().configureOutput({ outputError: () => {} });
  }
  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (error) {
    return reportError(error);
  }
}

/** Prints an error as one line and returns the exit code it maps to. */
export function reportError(error: unknown): number {
  if (error instanceof CommanderError) {
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') return EXIT.ok;
    const message = error.message.replace(/^error:\s*/, '').split('\n')[0];
    process.stderr.write(`restore-drill: ${message} (see restore-drill --help)\n`);
    return EXIT.usage;
  }
  if (error instanceof RestoreDrillError) {
    process.stderr.write(`restore-drill: ${redact(error.message)}${error.hint ? ` — ${redact(error.hint)}` : ''}\n`);
    return error.exitCode;
  }
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`restore-drill: unexpected error: ${redact(message.split('\n')[0] ?? '')} (set RESTORE_DRILL_DEBUG=1 for details)\n`);
  if (process.env.RESTORE_DRILL_DEBUG) process.stderr.write(`${redact(String((error as Error)?.stack ?? error))}\n`);
  return EXIT.failed;
}

/** The `--signing-key` option shared by `run` and `check`. */
export function signingKeyOption(): Option {
  return new Option('--signing-key <path>', 'Ed25519 private key (PEM) to sign reports with; default $RESTORE_DRILL_SIGNING_KEY, else a local demo key');
}

/** The `--report-dir` option shared by `run` and `check`. */
export function reportDirOption(): Option {
  return new Option('--report-dir <dir>', 'where signed reports are written').default('reports');
}
