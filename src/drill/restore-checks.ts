import { ConfigError } from '../errors.ts';
import { formatRestoreErrors, type RestoreIncompleteError } from '../postgres/restore-errors.ts';
import type { CheckResult } from '../model/report.ts';
import type { DrillOptions } from './drill-options.ts';

/** Checks that are steps toward verifying, not verification: passing them alone proves nothing about the data. */
const STEP_CHECKS = new Set(['restore completed', 'markers present']);

/** The name of the check a drill fails when nothing it ran could have failed. */
export const NOTHING_VERIFIED = 'something verified';

/**
 * Refuses, before anything starts, a drill that could only ever pass vacuously: a policy-only drill
 * (`restore: false`) without policies lists recovery points and checks nothing. Also one that asks for what it
 * cannot measure: an RTO target on a drill that restores nothing (its check could only ever be `skipped`
 * with no step failed).
 *
 * @example
 * assertSomethingToCheck({ name: 'nightly', restore: false }); // throws ConfigError
 */
export function assertSomethingToCheck(
  run: Pick<DrillOptions, 'restore' | 'policies' | 'objectives'> & { readonly name: string },
): void {
  if (run.restore !== false) return;
  if ((run.policies?.length ?? 0) === 0) {
    throw new ConfigError(
      `drill "${run.name}" checks nothing: it restores nothing (restore: false) and has no policies`,
      "add a policy to its options (e.g. `policies: [freshnessPolicy({ maxAge: '1d' })]`), or remove `restore: false` so the recovery point is restored and verified against its markers",
    );
  }
  if (run.objectives?.rto !== undefined) {
    throw new ConfigError(
      `drill "${run.name}" has an RTO target but restores nothing (restore: false): the RTO cannot be measured`,
      'remove `rto` from its objectives, or remove `restore: false` so the restore is timed',
    );
  }
}

/**
 * A failed check when no check that could have failed ran and passed (only steps such as `restore completed`
 * passed, or no check ran at all), else undefined: a drill passes only on evidence.
 */
export function nothingVerifiedCheck(checks: readonly CheckResult[]): CheckResult | undefined {
  if (checks.some((c) => c.status === 'failed')) return undefined;
  if (checks.some((c) => c.status === 'passed' && !STEP_CHECKS.has(c.name))) return undefined;
  const ran = checks.filter((c) => c.status !== 'skipped');
  return {
    name: NOTHING_VERIFIED,
    status: 'failed',
    expected: 'at least one check that could fail',
    actual: 'none',
    detail:
      ran.length === 0
        ? `no check ran${checks.length ? ` (${checks.length} skipped)` : ''}: add a policy that checks something, or restore the recovery point and verify it against markers (\`restore-drill mark\` / \`restore-drill dump\`)`
        : `only steps passed (${ran.map((c) => c.name).join(', ')}): the markers describe no table; mark tables with \`restore-drill mark\`, or add checks to the drill`,
  };
}

/**
 * `restore completed`: passed, or — when pg_restore restored what it could and some objects failed to load —
 * failed with the first errors (each naming the object, the cause and the server's DETAIL) and their count.
 */
export function restoreCompletedCheck(incomplete?: RestoreIncompleteError): CheckResult {
  if (!incomplete) return { name: 'restore completed', status: 'passed', expected: true, actual: true };
  const { count } = incomplete.summary;
  return {
    name: 'restore completed',
    status: 'failed',
    expected: true,
    actual: false,
    detail: `pg_restore completed with ${count} error${count === 1 ? '' : 's'} (the rest was restored and is verified below):\n${formatRestoreErrors(incomplete.summary)}`,
  };
}

/** `restore completed` when the restore phase failed outright (damaged archive, failed environment, …). */
export function restoreFailedCheck(message: string): CheckResult {
  return { name: 'restore completed', status: 'failed', expected: true, actual: false, detail: message };
}
