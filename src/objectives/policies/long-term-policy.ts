import { ConfigError } from '../../errors.ts';
import type { CheckResult } from '../../model/report.ts';
import type { Source } from '../../sources/source.ts';
import { formatDuration, parseDuration, type DurationString } from '../../util/duration.ts';
import type { Policy, PolicyContext } from '../policy.ts';
import { listOrNone } from './list-or-none.ts';
import { ageSeconds, newestFirst } from './point-list.ts';

/** Options of {@link longTermPolicy}. */
export interface LongTermPolicyOptions {
  /** A long-term backup at least this often, e.g. `'120d'` ("once every few months"). */
  readonly every: DurationString | number;
  /** How many long-term backups must still be there, one `every` apart at most; default 1. */
  readonly keepAtLeast?: number;
  /** Where the long-term backups are listed (e.g. the cold-archive prefix), when not the drill's own source. */
  readonly from?: Source;
}

/**
 * Long-term backups: the newest is at most `every` old, at least `keepAtLeast` are still present, and no two
 * consecutive ones of those are more than `every` apart — so the oldest one kept is still there, and the
 * history has no hole. A gap of exactly `every` passes; one second more fails, naming the two backups.
 * Works with any source; typically an `s3DumpSource` over a Glacier or Deep Archive prefix.
 *
 * @example
 * longTermPolicy({ every: '120d', keepAtLeast: 4, from: s3DumpSource({ bucket: 'acme-archive', prefix: 'shop/', archive: { tier: 'Bulk' } }) });
 */
export function longTermPolicy(options: LongTermPolicyOptions): Policy {
  const every = parseDuration(options.every, 'longTermPolicy every');
  const keep = options.keepAtLeast ?? 1;
  if (every <= 0)
    throw new ConfigError(
      'longTermPolicy every must be longer than 0',
      "e.g. longTermPolicy({ every: '120d', keepAtLeast: 4 })",
    );
  if (!Number.isInteger(keep) || keep < 1)
    throw new ConfigError(`longTermPolicy keepAtLeast must be a whole number ≥ 1, not ${keep}`);
  const expected = `${keep} long-term backup(s), newest ≤ ${formatDuration(every)} old, none more than ${formatDuration(every)} apart`;
  return {
    name: 'long-term',
    async evaluate(context: PolicyContext): Promise<CheckResult[]> {
      const points = newestFirst(options.from ? await listOrNone(options.from, context.sourceContext) : context.points);
      const check = (status: 'passed' | 'failed', actual: string, detail?: string): CheckResult[] => [
        { name: 'policy long-term', status, expected, actual, ...(detail ? { detail } : {}) },
      ];
      const where = (options.from ?? context.source).describe();
      if (points.length === 0) return check('failed', 'no long-term backups', `searched ${where}`);
      const newestAge = ageSeconds(points[0]!, context.now);
      if (newestAge > every)
        return check(
          'failed',
          `newest is ${formatDuration(newestAge)} old`,
          `newest: ${points[0]!.id} (${points[0]!.createdAt.toISOString()})`,
        );
      const kept = points.slice(0, keep);
      for (let i = 1; i < kept.length; i++) {
        const gap = (kept[i - 1]!.createdAt.getTime() - kept[i]!.createdAt.getTime()) / 1000;
        if (gap > every) {
          return check(
            'failed',
            `a gap of ${gap} s (${formatDuration(gap)}) between long-term backups`,
            `${kept[i]!.id} (${kept[i]!.createdAt.toISOString()}) → ${kept[i - 1]!.id} (${kept[i - 1]!.createdAt.toISOString()})`,
          );
        }
      }
      if (kept.length < keep)
        return check(
          'failed',
          `${kept.length} long-term backup(s)`,
          `oldest: ${kept.at(-1)!.id} (${kept.at(-1)!.createdAt.toISOString()}) in ${where}`,
        );
      const oldest = kept.at(-1)!;
      return check(
        'passed',
        `${kept.length} long-term backup(s), newest ${formatDuration(newestAge)} old`,
        `oldest kept: ${oldest.id} (${oldest.createdAt.toISOString()})`,
      );
    },
  };
}
