import { ConfigError } from '../../errors.ts';
import type { CheckResult } from '../../model/report.ts';
import { formatDuration, parseDuration, type DurationString } from '../../util/duration.ts';
import type { Policy } from '../policy.ts';
import { ageSeconds, newestFirst, someIds } from './point-list.ts';

/** Options of {@link retentionPolicy}; give one or both. */
export interface RetentionPolicyOptions {
  /** Minimum kept: the oldest recovery point is at least this old, e.g. `'30d'` ("snapshots kept 30 days"). */
  readonly oldestAtLeast?: DurationString | number;
  /** Maximum kept: no recovery point is older than this, e.g. `'29d'` (GDPR: personal data in backups kept at most 29 days). */
  readonly noneOlderThan?: DurationString | number;
}

/**
 * Retention: how far back recovery points reach. `oldestAtLeast` proves the history promised is really
 * kept; `noneOlderThan` proves nothing is kept longer than allowed. One check for each given bound.
 *
 * @example
 * retentionPolicy({ oldestAtLeast: '30d' });   // automatic snapshots kept 30 days
 * retentionPolicy({ noneOlderThan: '29d' });   // GDPR: at most 29 days
 */
export function retentionPolicy(options: RetentionPolicyOptions): Policy {
  const min = options.oldestAtLeast === undefined ? null : parseDuration(options.oldestAtLeast, 'retention oldestAtLeast');
  const max = options.noneOlderThan === undefined ? null : parseDuration(options.noneOlderThan, 'retention noneOlderThan');
  if (min === null && max === null) {
    throw new ConfigError('retentionPolicy needs oldestAtLeast, noneOlderThan or both', "e.g. retentionPolicy({ oldestAtLeast: '30d', noneOlderThan: '35d' })");
  }
  return {
    name: 'retention',
    evaluate({ points, now }): CheckResult[] {
      const sorted = newestFirst(points);
      const oldest = sorted.at(-1);
      const oldestAge = oldest ? ageSeconds(oldest, now) : null;
      const checks: CheckResult[] = [];
      if (min !== null) {
        checks.push({
          name: 'policy retention minimum',
          status: oldestAge !== null && oldestAge >= min ? 'passed' : 'failed',
          expected: `oldest ≥ ${formatDuration(min)} old`,
          actual: oldestAge === null ? 'no recovery points' : `oldest ${formatDuration(oldestAge)} old`,
          ...(oldest ? { detail: `oldest: ${oldest.id} (${oldest.createdAt.toISOString()})` } : {}),
        });
      }
      if (max !== null) {
        const tooOld = sorted.filter((p) => ageSeconds(p, now) > max).reverse();
        checks.push({
          name: 'policy retention maximum',
          status: tooOld.length === 0 ? 'passed' : 'failed',
          expected: `none older than ${formatDuration(max)}`,
          actual: tooOld.length === 0 ? (oldestAge === null ? 'no recovery points' : `oldest ${formatDuration(oldestAge)} old`) : `${tooOld.length} older`,
          ...(tooOld.length ? { detail: `too old: ${someIds(tooOld)}` } : {}),
        });
      }
      return checks;
    },
  };
}
