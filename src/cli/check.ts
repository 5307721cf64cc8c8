import { basename } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { toDrillMeta } from '../drill/drill.ts';
import { runDrill } from '../drill/run-drill.ts';
import { fileSource } from '../sources/file-source.ts';
import { s3DumpSource } from '../sources/s3-dump-source.ts';
import { formatDrillSummary } from './drill-summary.ts';
import { EXIT, reportDirOption, signingKeyOption } from './main.ts';
import { signalExitCode, withInterruptSignal } from '../drill/interrupt.ts';

/** `restore-drill check --dump PATH|s3://B/K`: a complete drill of one dump, no spec file needed. */
export function registerCheckCommand(program: Command, setExit: (code: number) => void): Command {
  return program
    .command('check')
    .description('restore one dump into a disposable local PostgreSQL, verify it against its markers, time it, sign a report')
    .requiredOption('--dump <path|s3-uri>', 'a pg_dump archive, a directory dump, a folder of dumps, or s3://bucket/key-or-prefix/')
    .option('--rto <duration>', 'recovery time objective, e.g. 8h')
    .option('--rpo <duration>', 'recovery point objective, e.g. 3h')
    .option('--name <name>', 'drill name in the report (default: check <dump name>)')
    .option('--jobs <n>', 'parallel pg_restore jobs (default: CPU cores)', (v) => parsePositiveInt(v, '--jobs'))
    .addOption(reportDirOption())
    .addOption(signingKeyOption())
    .action(async (opts: { dump: string; rto?: string; rpo?: string; name?: string; jobs?: number; reportDir: string; signingKey?: string }) => {
      const source = opts.dump.startsWith('s3://') ? s3DumpSource(opts.dump) : fileSource(opts.dump);
      const name = opts.name ?? `check ${basename(opts.dump.replace(/\/+$/, '')) || opts.dump}`;
      const result = await withInterruptSignal((signal) =>
        runDrill({
          name,
          file: null,
          source,
          objectives: { rto: opts.rto, rpo: opts.rpo },
          reportDir: opts.reportDir,
          signingKey: opts.signingKey,
          jobs: opts.jobs,
          signal,
        }),
      );
      process.stdout.write(`${formatDrillSummary(name, toDrillMeta(result))}\n    signed: ${result.reportPath}\n`);
      const interruptedBy = /^interrupted by (SIG\w+)/.exec(result.report.error?.message ?? '')?.[1];
      setExit(result.status === 'passed' ? EXIT.ok : interruptedBy ? signalExitCode(interruptedBy) : EXIT.failed);
    });
}

/** Parses a positive integer option or throws a usage error naming it. */
export function parsePositiveInt(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${flag} must be a positive whole number, got "${value}"`);
  return n;
}
