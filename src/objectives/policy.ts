import type { CheckResult } from '../model/report.ts';
import type { Source, SourceContext } from '../sources/source.ts';
import type { RecoveryPoint } from '../model/recovery-point.ts';

/** What a policy sees: every recovery point the source listed, and the drill's start time. */
export interface PolicyContext {
  /** All recovery points of the source, newest first. */
  readonly points: readonly RecoveryPoint[];
  /** The drill's start: ages and gaps are measured against it. */
  readonly now: Date;
  readonly source: Source;
  readonly sourceContext: SourceContext;
}

/**
 * A backup policy rule (freshness, coverage, retention, encryption, offsite copy, …) checked against the
 * recovery points a source lists. Each result is a check in the report, with expected and actual values.
 * Policies run in the `locate` phase, with or without a restore (`restore: false` makes a policy-only drill).
 *
 * @example
 * const newestIsFresh: Policy = {
 *   name: 'freshness',
 *   evaluate: ({ points, now }) => [{
 *     name: 'policy freshness', status: now.getTime() - points[0]!.createdAt.getTime() <= 3 * 3600e3 ? 'passed' : 'failed',
 *     expected: '≤ 3h', actual: points[0]!.createdAt.toISOString(),
 *   }],
 * };
 */
export interface Policy {
  /** Short name, e.g. `freshness`. */
  readonly name: string;
  evaluate(context: PolicyContext): CheckResult[] | Promise<CheckResult[]>;
}
