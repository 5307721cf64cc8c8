import { basename } from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { Environment } from '../environments/environment.ts';
import { formatHead } from '../evidence/ledger-head.ts';
import { localPostgres } from '../environments/local/local-postgres.ts';
import { ConfigError } from '../errors.ts';
import { encryptionPolicy } from '../objectives/policies/encryption-policy.ts';
import { toDrillMeta } from '../drill/drill-meta.ts';
import { runDrill, type DrillResult } from '../drill/run-drill.ts';
import { defaultKeyDir } from '../drill/drill-settings.ts';
import { resolveSigner } from '../evidence/signer.ts';
import { SIGNING_KEY_ENV } from '../evidence/signing-key.ts';
import { fileSource } from '../sources/file/file-source.ts';
import type { DumpedWithout } from '../verify/compare-objects.ts';
import { formatDrillSummary } from './drill-summary.ts';
import { argvSecretWarnings, warnAboutArgvSecrets } from './argv-secrets.ts';
import { parseCiFlags, writeCiOutputs, type CiFlags } from './ci-outputs.ts';
import { EXIT } from './exit-codes.ts';
import { prepareDrillEvidence, type EvidenceFlags } from './evidence-options.ts';
import { withInstanceLimit, type InstanceLimitFlags } from './instance-limit-options.ts';
import { addDrillRunOptions } from './drill-run-options.ts';
import { createProgressDisplay } from './progress.ts';
import { signalExitCode, withInterruptSignal } from '../drill/interrupt.ts';
import { parsePick } from '../drill/pick-recovery-point.ts';

/** `restore-drill check --dump PATH|s3://B/K`: a complete drill of one dump, no spec file needed. */
export function registerCheckCommand(program: Command, setExit: (code: number) => void): Command {
  return addDrillRunOptions(program.command('check'))
    .description(
      'restore one dump into a disposable PostgreSQL (local, or a container of its version), verify it against its markers, time it, sign a report',
    )
    .requiredOption(
      '--dump <path|s3-uri>',
      'a pg_dump archive, a directory dump, a folder of dumps, or s3://bucket/key-or-prefix/',
    )
    .option('--rto <duration>', 'recovery time objective, e.g. 8h')
    .option('--rpo <duration>', 'recovery point objective, e.g. 3h')
    .option(
      '--time-limit <duration>',
      'stop the drill with its signed error report when it runs longer, e.g. 6h (code in a backup can sleep forever); default: twice --rto (at least 1h), else 6h',
    )
    .option(
      '--pick <how>',
      'which recovery point of a folder or prefix: latest, nearest:TIME (ISO 8601) or random:WINDOW (e.g. random:7d)',
      'latest',
    )
    .option('--name <name>', 'drill name in the report (default: check <dump name>)')
    .option('--jobs <n>', 'parallel pg_restore jobs (default: CPU cores)', (v) => parsePositiveInt(v, '--jobs'))
    .option(
      '--verify-during-restore',
      "compare each table of the dump's manifest as soon as it is restored, on idle restore workers (may pay with many cores)",
    )
    .addOption(
      new Option(
        '--environment <kind>',
        "where to restore: a local throw-away cluster, or a container of the dump's PostgreSQL version",
      )
        .choices(['local', 'container'])
        .default('local'),
    )
    .option('--image <name>', "container image; {major} becomes the dump's PostgreSQL major (default postgres:{major})")
    .option(
      '--require-encryption [kms-key-id]',
      'fail unless every recovery point of the source is encrypted (with this KMS key, when given)',
    )
    .option('--fallback-local', 'with --environment container: restore locally when no container runtime is reachable')
    .option(
      '--dumped-without <what>',
      'the dump was made with pg_dump --no-acl and/or --no-owner on purpose: acl, owner or acl,owner (not compared; listed as not verified)',
      parseDumpedWithout,
    )
    .action(async (opts: CheckOptions & InstanceLimitFlags & CiFlags & EvidenceFlags) => {
      warnAboutArgvSecrets([argvSecretWarnings.notify(opts.notify), argvSecretWarnings.signingKey(opts.signingKey)]);
      // First, so a missing key under CI is a usage error before anything is downloaded or started.
      const signer = await resolveSigner({
        flag: opts.signingKey,
        env: process.env[SIGNING_KEY_ENV],
        defaultDir: defaultKeyDir(),
        log: (line) => process.stderr.write(`restore-drill: ${line}\n`),
      });
      // The AWS SDK and testcontainers take a while to load: a local check of a local dump loads neither.
      const pick = parsePick(opts.pick);
      const source = opts.dump.startsWith('s3://')
        ? (await import('../sources/s3/s3-dump-source.ts')).s3DumpSource(opts.dump)
        : fileSource(opts.dump);
      // A bad RESTORE_DRILL_S3_TIMEOUT is a usage error before the drill, not a failed report after it.
      if (opts.dump.startsWith('s3://')) (await import('../aws/s3-client.ts')).s3Timeouts();
      const name = opts.name ?? `check ${basename(opts.dump.replace(/\/+$/, '')) || opts.dump}`;
      const environment = await checkEnvironment(opts);
      const ciTargets = parseCiFlags(opts);
      const { uri: evidence, settings: evidenceSettings } = await prepareDrillEvidence(opts, opts.reportDir);
      // The same cap as `run`'s, from the same flags and variables, checked the same way before the drill.
      const { settings, limit } = withInstanceLimit(evidenceSettings, opts);
      // Said, not silently dropped: a fleet's shared flags may set a cap, and check creates no RDS instance.
      if (limit)
        process.stderr.write(
          `restore-drill: --rds-limit ${limit.max}: check restores into ${environment.kind}, not an RDS instance: it takes no lease of ${limit.leases}\n`,
        );
      // Bars on a terminal, the plain log lines otherwise.
      const display = createProgressDisplay();
      let result: DrillResult;
      try {
        result = await withInterruptSignal((signal) =>
          runDrill({
            name,
            file: null,
            source,
            objectives: { rto: opts.rto, rpo: opts.rpo },
            pick,
            policies: opts.requireEncryption
              ? [
                  encryptionPolicy(
                    typeof opts.requireEncryption === 'string' ? { kmsKeyId: opts.requireEncryption } : {},
                  ),
                ]
              : [],
            reportDir: opts.reportDir,
            signer,
            settings,
            jobs: opts.jobs,
            verifyDuringRestore: opts.verifyDuringRestore,
            dumpedWithout: opts.dumpedWithout,
            timeLimit: opts.timeLimit,
            environment,
            signal,
            log: (line) => display.log(name, line),
            progress: (event) => display.update(name, event),
          }),
        );
        display.finish(name, result.status);
      } finally {
        display.stop();
      }
      const meta = toDrillMeta(result);
      process.stdout.write(`${formatDrillSummary(name, meta)}\n    signed: ${result.reportPath}\n`);
      process.stdout.write(`    ledger head: ${formatHead(result.ledger)}${evidence ? ` (${evidence})` : ''}\n`);
      const ci = await writeCiOutputs(
        { drills: [meta], notRun: [] },
        { reportDir: opts.reportDir, evidence, ...ciTargets, warn: (line) => process.stderr.write(`${line}\n`) },
      );
      process.stdout.write(`    junit: ${ci.junitPath}  summary: ${ci.summaryPath}\n`);
      setExit(
        result.status === 'passed'
          ? EXIT.ok
          : result.interruptedBy
            ? signalExitCode(result.interruptedBy)
            : EXIT.failed,
      );
    });
}

interface CheckOptions {
  readonly dump: string;
  readonly rto?: string;
  readonly rpo?: string;
  readonly timeLimit?: string;
  readonly name?: string;
  readonly pick: string;
  readonly jobs?: number;
  readonly verifyDuringRestore?: boolean;
  readonly environment: 'local' | 'container';
  readonly image?: string;
  readonly fallbackLocal?: boolean;
  readonly requireEncryption?: boolean | string;
  readonly reportDir: string;
  readonly signingKey?: string;
  readonly cadence?: string;
  readonly verifyBudget?: string;
  readonly dumpedWithout?: DumpedWithout;
}

/** `--dumped-without acl,owner` → `{ privileges: true, owners: true }`. */
function parseDumpedWithout(value: string): DumpedWithout {
  const parts = value.split(',').map((part) => part.trim().toLowerCase());
  const unknown = parts.filter((part) => part !== 'acl' && part !== 'owner');
  if (unknown.length > 0 || parts.length === 0)
    throw new InvalidArgumentError(`--dumped-without takes acl, owner or acl,owner, got "${value}"`);
  return {
    ...(parts.includes('acl') ? { privileges: true } : {}),
    ...(parts.includes('owner') ? { owners: true } : {}),
  };
}

/** The environment `--environment`, `--image` and `--fallback-local` ask for. */
async function checkEnvironment(opts: CheckOptions): Promise<Environment> {
  if (opts.environment === 'container') {
    const { containerPostgres } = await import('../environments/container/container-postgres.ts');
    return containerPostgres({ image: opts.image, ...(opts.fallbackLocal ? { fallback: localPostgres() } : {}) });
  }
  if (opts.image !== undefined || opts.fallbackLocal) {
    throw new ConfigError(
      '--image and --fallback-local apply to --environment container only',
      'add --environment container, or leave them out',
    );
  }
  return localPostgres();
}

/** Parses a positive integer option or throws a usage error naming it. */
export function parsePositiveInt(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new InvalidArgumentError(`${flag} must be a positive whole number, got "${value}"`);
  return n;
}
