import type { RecoveryPoint } from '../../model/recovery-point.ts';

/** Recovery points sorted newest first (sources promise it; policies do not rely on it). */
export function newestFirst(points: readonly RecoveryPoint[]): RecoveryPoint[] {
  return [...points].sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime());
}

/** Age of a point at `now`, in seconds (never negative: a clock a little ahead is not a future backup). */
export function ageSeconds(point: RecoveryPoint, now: Date): number {
  return Math.max(0, (now.getTime() - point.createdAt.getTime()) / 1000);
}

/** A few ids for a check's detail: `a, b, c and 4 more`. */
export function someIds(points: readonly RecoveryPoint[], max = 3): string {
  const shown = points
    .slice(0, max)
    .map((p) => p.id)
    .join(', ');
  return points.length > max ? `${shown} and ${points.length - max} more` : shown;
}
