import type { CheckResult } from '../../model/report.ts';
import { formatDuration, parseDuration, type DurationString } from '../../util/duration.ts';
import type { Policy } from '../policy.ts';
import { ageSeconds, newestFirst } from './point-list.ts';

/** Options of {@link freshnessPolicy}. */
export interface FreshnessPolicyOptions {
  /** The oldest the newest recovery point may be: the RPO the backups promise, e.g. `'3h'`. */
  readonly maxAge: DurationString | number;
}

/**
 * Freshness: the newest recovery point is younger than `maxAge` at the drill's start — "we could lose at
 * most 3 hours right now". Works with any source; in a policy-only drill nothing is restored.
 *
 * @example
 * drill('shop backups are fresh', { source, restore: false, policies: [freshnessPolicy({ maxAge: '3h' })] });
 */
export function freshnessPolicy(options: FreshnessPolicyOptions): Policy {
  const maxAge = parseDuration(options.maxAge, 'freshness maxAge');
  const expected = `newest ≤ ${formatDuration(maxAge)} old`;
  return {
    name: 'freshness',
    evaluate({ points, now }): CheckResult[] {
      const newest = newestFirst(points)[0];
      if (!newest) return [{ name: 'policy freshness', status: 'failed', expected, actual: 'no recovery points' }];
      const age = ageSeconds(newest, now);
      return [
        {
          name: 'policy freshness',
          status: age <= maxAge ? 'passed' : 'failed',
          expected,
          actual: `${formatDuration(age)} old`,
          detail: `newest: ${newest.id} (${newest.createdAt.toISOString()})`,
        },
      ];
    },
  };
}
