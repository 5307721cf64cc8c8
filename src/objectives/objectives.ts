import type { CheckResult, ObjectiveResult } from '../model/report.ts';
import { formatDuration, parseDuration, type DurationString } from '../util/duration.ts';

/**
 * RTO and RPO targets of a drill, as durations (`'8h'`, `'3h'`) or seconds.
 *
 * @example
 * drill('orders', { source, objectives: { rto: '8h', rpo: '3h' } });
 */
export interface Objectives {
  /** Recovery time objective: the longest acceptable time from `locate` start to `verify` end. */
  readonly rto?: DurationString | number;
  /** Recovery point objective: the oldest acceptable recovery point, measured at drill start. */
  readonly rpo?: DurationString | number;
}

/** Objectives with targets in seconds, validated. */
export interface ObjectiveTargets {
  readonly rtoSeconds: number | null;
  readonly rpoSeconds: number | null;
}

/** Validates and converts objectives; a bad duration is a `ConfigError` naming the objective. */
export function objectiveTargets(objectives: Objectives = {}): ObjectiveTargets {
  return {
    rtoSeconds: objectives.rto === undefined ? null : parseDuration(objectives.rto, 'RTO'),
    rpoSeconds: objectives.rpo === undefined ? null : parseDuration(objectives.rpo, 'RPO'),
  };
}

/** Compares a measured duration with a target; `met` is null without a target or a measurement. */
export function evaluateObjective(targetSeconds: number | null, actualSeconds: number | null): ObjectiveResult {
  const actual = actualSeconds === null ? null : Math.round(actualSeconds * 1000) / 1000;
  return {
    targetSeconds,
    actualSeconds: actual,
    met: targetSeconds === null || actual === null ? null : actual <= targetSeconds,
  };
}

/** The objective as a check for the report's check list (skipped when it could not be measured). */
export function objectiveCheck(name: 'RTO' | 'RPO', result: ObjectiveResult, detail?: string): CheckResult | null {
  if (result.targetSeconds === null) return null;
  const expected = `≤ ${formatDuration(result.targetSeconds)}`;
  if (result.actualSeconds === null || result.met === null) {
    return {
      name: `objective ${name}`,
      status: 'skipped',
      expected,
      actual: null,
      detail: detail ?? 'not measured: an earlier step failed',
    };
  }
  return {
    name: `objective ${name}`,
    status: result.met ? 'passed' : 'failed',
    expected,
    actual: formatDuration(result.actualSeconds),
    ...(detail ? { detail } : {}),
  };
}
