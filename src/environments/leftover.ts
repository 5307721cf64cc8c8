import type { ResourceLabel } from './labels.ts';

/** Something a restore-drill run created and a crashed run left behind. */
export interface Leftover {
  readonly kind: string;
  /** Where it is: a directory, a container id, an instance identifier. */
  readonly location: string;
  readonly label: ResourceLabel;
  /** Why it counts as a leftover, e.g. `owner process 1234 is gone`. */
  readonly reason: string;
}

export interface LeftoverOptions {
  /** Only resources at least this old (seconds). Also removes resources of live runs older than this. */
  readonly olderThanSeconds?: number;
  /** Where local clusters and work dirs live; default the OS temp dir. */
  readonly parentDir?: string;
  /** Told about each `restore-drill-*` entry that claims to be ours but cannot be proven so (left alone), and why. */
  readonly onSkip?: (location: string, reason: string) => void;
}

/**
 * Why a labelled cloud resource (an RDS instance, an S3 scratch) counts as a leftover, or undefined when it
 * does not: its label's expiry has passed, or it is older than `olderThanSeconds`. Dates that do not parse
 * never make a resource a leftover.
 *
 * @example
 * expiredOrTooOld({ expiresAt: '2026-01-01T00:00:00Z', createdAt: NaN, now: Date.now() }); // 'expired at …'
 */
export function expiredOrTooOld(at: {
  readonly expiresAt: string | null | undefined;
  readonly createdAt: number;
  readonly now: number;
  readonly olderThanSeconds?: number | undefined;
}): string | undefined {
  const expiresAt = at.expiresAt ? Date.parse(at.expiresAt) : NaN;
  if (Number.isFinite(expiresAt) && expiresAt <= at.now) return `expired at ${at.expiresAt}`;
  if (
    at.olderThanSeconds !== undefined &&
    Number.isFinite(at.createdAt) &&
    at.now - at.createdAt >= at.olderThanSeconds * 1000
  )
    return `older than the limit (${Math.round((at.now - at.createdAt) / 1000)}s)`;
  return undefined;
}
