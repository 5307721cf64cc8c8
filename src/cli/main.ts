import { Command } from 'commander';
import { interruptSignal } from '../drill/interrupt.ts';
import { TOOL_VERSION } from '../drill/tool-version.ts';
import { registerCheckCommand } from './check.ts';
import { registerCleanupCommand } from './cleanup.ts';
import { registerControlsCommand } from './controls.ts';
import { registerDumpCommand } from './dump.ts';
import { registerGenerateCommand } from './generate.ts';
import { registerHistoryCommand } from './history.ts';
import { registerInitCommand } from './init.ts';
import { registerKeygenCommand } from './keygen.ts';
import { registerMarkCommand } from './mark.ts';
import { registerMergeCommand } from './merge.ts';
import { registerRunCommand } from './run.ts';
import { registerVerifyCommand } from './verify.ts';
import { EXIT } from './exit-codes.ts';
import { reportError } from './report-error.ts';

/**
 * Runs the `restore-drill` command line and returns the exit code. Errors that are the user's to fix
 * print as one line (what is wrong; what to do) without a stack trace.
 */
export async function main(argv: string[]): Promise<number> {
  ignoreClosedOutput();
  let exitCode: number = EXIT.ok;
  const program = new Command('restore-drill')
    .description(
      'Proves backups can be restored: restore, verify against markers, time against RTO/RPO, sign a report.',
    )
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
    registerGenerateCommand,
    registerMergeCommand,
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
