import { join } from 'node:path';
import { ConfigError } from '../errors.ts';
import {
  CADENCE_ENV,
  EVIDENCE_ENV,
  EVIDENCE_RETENTION_ENV,
  LEASE_STORE_ENV,
  RDS_LIMIT_ENV,
} from '../evidence/evidence-env.ts';
import type { InstanceLimit } from '../environments/environment.ts';
import { SIGNING_KEY_ENV } from '../evidence/signing-key.ts';
import { parseDuration } from '../util/duration.ts';

/** The environment variable with the default report directory of drills that name none. */
export const REPORT_DIR_ENV = 'RESTORE_DRILL_REPORT_DIR';
/** The environment variable with the default verification budget (`--verify-budget`) of drills that set none, e.g. `30m`. */
export const VERIFY_BUDGET_ENV = 'RESTORE_DRILL_VERIFY_BUDGET';

/**
 * The settings of a whole run, as opposed to one drill's options: where reports go, which key signs them,
 * the evidence store, the default cadence. `restore-drill run` and `check` resolve them once (from their
 * flags, else the user's environment) and hand them to each drill as values: `check` directly, `run`
 * through Vitest's `provide`/`inject` to its worker processes. Plain strings, so they serialize.
 *
 * @example
 * await runDrill({ name: 'shop', source, settings: { reportDir: 'reports', cadence: '1mo' } });
 */
export interface DrillSettings {
  /** Where reports go when the drill names no `reportDir`. */
  readonly reportDir?: string;
  /** A PEM path or content, or `kms://…`, used when the drill names no `signingKey`. Key material: never log it. */
  readonly signingKey?: string;
  /** The cadence of drills that declare none, e.g. `1mo`. */
  readonly cadence?: string;
  /** The verification budget of drills that set none (`--verify-budget`), e.g. `30m`. */
  readonly verifyBudget?: string;
  /** An evidence store, `s3://bucket/prefix`, each report is appended to. */
  readonly evidence?: string;
  /** Object Lock retention of reports in the evidence store, e.g. `400d`. */
  readonly evidenceRetention?: string;
  /** At most this many temporary RDS instances at once across every shard (`--rds-limit`), e.g. `3`. */
  readonly rdsLimit?: string;
  /** Where the RDS leases are kept (`--lease-store`): `s3://bucket/prefix` or a shared directory; default the evidence store. */
  readonly leaseStore?: string;
  /** Write progress lines on stderr for `restore-drill run`'s progress bars (it reads the workers' stderr). */
  readonly progressLines?: boolean;
}

/**
 * The settings the user gave as environment variables (`RESTORE_DRILL_REPORT_DIR`, `RESTORE_DRILL_SIGNING_KEY`,
 * `RESTORE_DRILL_CADENCE`, `RESTORE_DRILL_VERIFY_BUDGET`, `RESTORE_DRILL_EVIDENCE`, `RESTORE_DRILL_EVIDENCE_RETENTION`): the defaults when a
 * drill runs without `restore-drill run` (plain `vitest`, or `runDrill` from a script). Empty means unset.
 *
 * @example
 * settingsFromEnvironment({ RESTORE_DRILL_CADENCE: '7d' }); // { cadence: '7d' }
 */
export function settingsFromEnvironment(env: NodeJS.ProcessEnv = process.env): DrillSettings {
  const read = (name: string) => env[name]?.trim() || undefined;
  return definedOnly({
    reportDir: env[REPORT_DIR_ENV] || undefined,
    signingKey: env[SIGNING_KEY_ENV] || undefined,
    cadence: read(CADENCE_ENV),
    verifyBudget: read(VERIFY_BUDGET_ENV),
    evidence: read(EVIDENCE_ENV),
    evidenceRetention: read(EVIDENCE_RETENTION_ENV),
    rdsLimit: read(RDS_LIMIT_ENV),
    leaseStore: read(LEASE_STORE_ENV),
  });
}

/**
 * `settings` over the user's environment: a value given wins over the variable.
 *
 * @example
 * withEnvironmentDefaults({ reportDir: 'out' }, { RESTORE_DRILL_CADENCE: '7d' }); // { cadence: '7d', reportDir: 'out' }
 */
export function withEnvironmentDefaults(
  settings: DrillSettings = {},
  env: NodeJS.ProcessEnv = process.env,
): DrillSettings {
  return { ...settingsFromEnvironment(env), ...definedOnly(settings) };
}

/**
 * The cap on temporary RDS instances that `rdsLimit` asks for, with where its leases live (`leaseStore`, else
 * the evidence store); undefined without a cap. A bad number, or a cap with nowhere every shard can see, is a
 * usage error.
 *
 * @example
 * instanceLimit({ rdsLimit: '2', evidence: 's3://evidence/fleet/' }); // { max: 2, leases: 's3://evidence/fleet/' }
 */
export function instanceLimit(settings: DrillSettings): InstanceLimit | undefined {
  if (settings.rdsLimit === undefined) return undefined;
  const max = Number(settings.rdsLimit);
  if (!Number.isInteger(max) || max < 1) {
    throw new ConfigError(
      `bad --rds-limit "${settings.rdsLimit}" ($${RDS_LIMIT_ENV})`,
      'give a whole number of temporary RDS instances, at least 1',
    );
  }
  const leases = settings.leaseStore ?? settings.evidence;
  if (!leases) {
    throw new ConfigError(
      `--rds-limit ${max} needs a place every shard shares to keep its leases`,
      `add --evidence s3://BUCKET/PREFIX, or --lease-store s3://… or a shared directory ($${LEASE_STORE_ENV})`,
    );
  }
  return { max, leases };
}

/**
 * A verification budget in seconds, from a duration like `30m`; `what` names where it came from in the error.
 * No time at all (or a bad duration) is a usage error.
 *
 * @example
 * verifyBudgetSeconds('30m', '--verify-budget'); // 1800
 */
export function verifyBudgetSeconds(value: string, what: string): number {
  const seconds = parseDuration(value, what);
  if (!(seconds > 0))
    throw new ConfigError(`bad ${what} "${value}": no time to verify in`, 'give a duration longer than 0, e.g. 30m');
  return seconds;
}

function definedOnly<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/**
 * Where the demo signing key lives when no key is configured (git-ignored): under `$RESTORE_DRILL_HOME`
 * when the user set it, else `.restore-drill/keys` in the working directory.
 *
 * @example
 * defaultKeyDir(); // '/repo/.restore-drill/keys'
 */
export function defaultKeyDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.RESTORE_DRILL_HOME ? join(env.RESTORE_DRILL_HOME, 'keys') : join(process.cwd(), '.restore-drill', 'keys');
}
