import { ConfigError } from '../../errors.ts';
import type { CheckResult } from '../../model/report.ts';
import { formatDuration, parseDuration, type DurationString } from '../../util/duration.ts';
import type { Policy } from '../policy.ts';

/** One tier of a coverage promise: between consecutive recovery points at most `maxGap`, for points up to `within` old. */
export interface CoverageTier {
  readonly maxGap: DurationString | number;
  readonly within: DurationString | number;
}

/**
 * Coverage: no gap between consecutive recovery points larger than a tier's `maxGap`, tier by tier. Tiers
 * are ordered by `within` and each covers the ages from the previous tier's `within` to its own, so
 * `[{ maxGap: '3h', within: '7d' }, { maxGap: '24h', within: '30d' }]` reads "a point at least every 3 h
 * over the last 7 days, and every 24 h from 7 to 30 days back".
 *
 * Each tier's window is covered edge to edge: a gap that straddles a tier boundary counts in both tiers;
 * time before the oldest point counts as a gap when the history begins inside the window; and the newest
 * tier also measures the time from the newest point to now (as freshness does). One check per tier, with
 * the largest gap found as its actual value.
 *
 * @example
 * coveragePolicy([{ maxGap: '3h', within: '7d' }, { maxGap: '24h', within: '30d' }]);
 */
export function coveragePolicy(tiers: readonly CoverageTier[]): Policy {
  if (tiers.length === 0)
    throw new ConfigError(
      'coveragePolicy needs at least one tier',
      "e.g. coveragePolicy([{ maxGap: '3h', within: '7d' }])",
    );
  const parsed = tiers
    .map((t) => ({
      maxGap: parseDuration(t.maxGap, 'coverage maxGap'),
      within: parseDuration(t.within, 'coverage within'),
    }))
    .sort((a, b) => a.within - b.within);
  for (const [i, tier] of parsed.entries()) {
    if (tier.maxGap <= 0 || tier.within <= 0 || (i > 0 && tier.within === parsed[i - 1]!.within)) {
      throw new ConfigError(
        'coveragePolicy tiers need positive maxGap and distinct within',
        "e.g. [{ maxGap: '3h', within: '7d' }, { maxGap: '24h', within: '30d' }]",
      );
    }
  }
  return {
    name: 'coverage',
    evaluate({ points, now }): CheckResult[] {
      const times = [...new Set(points.map((p) => p.createdAt.getTime()))].sort((a, b) => a - b);
      const byTime = new Map(points.map((p) => [p.createdAt.getTime(), p] as const));
      return parsed.map((tier, i) => {
        const from = now.getTime() - tier.within * 1000;
        const to = now.getTime() - (i === 0 ? 0 : parsed[i - 1]!.within * 1000);
        const gap = largestGap(times, from, to);
        const ageRange = `${i === 0 ? '0' : formatDuration(parsed[i - 1]!.within)}–${formatDuration(tier.within)}`;
        const name = `policy coverage ≤ ${formatDuration(tier.maxGap)} for ages ${ageRange}`;
        const expected = `gaps ≤ ${formatDuration(tier.maxGap)}`;
        const describe = (t: number, edge: string) => byTime.get(t)?.id ?? edge;
        return {
          name,
          status: gap.seconds <= tier.maxGap ? 'passed' : 'failed',
          expected,
          actual: `largest gap ${formatDuration(gap.seconds)}`,
          detail: `between ${describe(gap.start, gap.start === from ? 'the window start (history begins later)' : new Date(gap.start).toISOString())} and ${describe(gap.end, i === 0 ? 'now' : 'the window end (no newer point)')}`,
        } satisfies CheckResult;
      });
    },
  };
}

/**
 * The largest gap covering [from, to]: from the last point at or before `from` (else `from` itself: not
 * covered) through every point inside to the first point at or after `to` (else `to`).
 */
function largestGap(
  times: readonly number[],
  from: number,
  to: number,
): { seconds: number; start: number; end: number } {
  const before = times.filter((t) => t <= from).at(-1) ?? from;
  const after = times.find((t) => t >= to) ?? to;
  const edges = [before, ...times.filter((t) => t > from && t < to), after];
  let best = { seconds: 0, start: before, end: before };
  for (let i = 1; i < edges.length; i++) {
    const seconds = (edges[i]! - edges[i - 1]!) / 1000;
    if (seconds > best.seconds) best = { seconds, start: edges[i - 1]!, end: edges[i]! };
  }
  return best;
}
