import { ConfigError } from '../../errors.ts';
import type { CheckResult } from '../../model/report.ts';
import { formatDuration, parseDuration, type DurationString } from '../../util/duration.ts';
import type { Policy } from '../policy.ts';
import type { Source } from '../../sources/source.ts';
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
 * retentionPolicy({ pii: { source: piiDumps, noneOlderThan: '29d' }, metadata: { oldestAtLeast: '90d' } }); // per class
 */
export function retentionPolicy(bounds: RetentionPolicyOptions | Record<string, RetentionClass>): Policy {
  // Per class of backups (pii, metadata, …): a record of classes instead of bounds.
  if (Object.keys(bounds).length > 0 && !('oldestAtLeast' in bounds) && !('noneOlderThan' in bounds))
    return retentionByClass(bounds as Record<string, RetentionClass>);
  const options = bounds as RetentionPolicyOptions;
  const min =
    options.oldestAtLeast === undefined ? null : parseDuration(options.oldestAtLeast, 'retention oldestAtLeast');
  const max =
    options.noneOlderThan === undefined ? null : parseDuration(options.noneOlderThan, 'retention noneOlderThan');
  if (min === null && max === null) {
    throw new ConfigError(
      'retentionPolicy needs oldestAtLeast, noneOlderThan or both',
      "e.g. retentionPolicy({ oldestAtLeast: '30d', noneOlderThan: '35d' })",
    );
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
          actual:
            tooOld.length === 0
              ? oldestAge === null
                ? 'no recovery points'
                : `oldest ${formatDuration(oldestAge)} old`
              : `${tooOld.length} older`,
          ...(tooOld.length ? { detail: `too old: ${someIds(tooOld)}` } : {}),
        });
      }
      return checks;
    },
  };
}

/** One class of backups (e.g. `pii`, `metadata`) in {@link retentionPolicy} by class: its own bounds and source. */
export interface RetentionClass extends RetentionPolicyOptions {
  /** Where this class's recovery points are listed, e.g. `s3DumpSource('s3://backups/pii/')`; default the drill's own source. */
  readonly source?: Source;
}

/**
 * Retention per class of backups as one policy: "customer data at most 29 days, metadata at least 90":
 * `retentionPolicy({ pii: { source: piiDumps, noneOlderThan: '29d' }, metadata: { source: metaDumps, oldestAtLeast: '90d' } })`.
 * Each class's checks carry its name, e.g. `policy retention maximum (pii)`.
 */
function retentionByClass(classes: Record<string, RetentionClass>): Policy {
  const entries = Object.entries(classes);
  if (entries.length === 0) {
    throw new ConfigError(
      'retentionPolicy needs bounds or classes',
      "e.g. retentionPolicy({ pii: { noneOlderThan: '29d' }, metadata: { oldestAtLeast: '90d' } })",
    );
  }
  const perClass = entries.map(([name, options]) => {
    if (
      typeof options !== 'object' ||
      options === null ||
      (options.oldestAtLeast === undefined && options.noneOlderThan === undefined)
    ) {
      throw new ConfigError(
        `retentionPolicy class ${name} needs oldestAtLeast, noneOlderThan or both`,
        `e.g. ${name}: { noneOlderThan: '29d' }`,
      );
    }
    return {
      name,
      source: options.source,
      policy: retentionPolicy({ oldestAtLeast: options.oldestAtLeast, noneOlderThan: options.noneOlderThan }),
    };
  });
  return {
    name: 'retention by class',
    async evaluate(context): Promise<CheckResult[]> {
      const checks: CheckResult[] = [];
      for (const { name, source, policy } of perClass) {
        const points = source ? await source.list(context.sourceContext) : context.points;
        const label = source ? `${name}: ${source.describe()}` : name;
        for (const check of await policy.evaluate({ ...context, points, source: source ?? context.source }))
          checks.push({ ...check, name: `${check.name} (${label})` });
      }
      return checks;
    },
  };
}
