import { createHash } from 'node:crypto';

/** How the drill files of a fleet were split into shards: the same inputs give the same plan on every machine. */
export interface ShardPlan {
  readonly count: number;
  /** Every drill file (relative, `/`-separated), sorted. */
  readonly files: readonly string[];
  /** The weight (expected seconds) each file was planned with. */
  readonly weights: Readonly<Record<string, number>>;
  /** What the weights came from: earlier runs' times, or none (every file the same). */
  readonly balancedBy: 'timings' | 'file count';
  /** `files` per shard: `shards[i - 1]` is shard i's. */
  readonly shards: readonly (readonly string[])[];
  /** `sha256:` of the inputs: shards planned alike have the same digest. */
  readonly digest: string;
}

/**
 * Splits drill files into `count` shards, longest first onto the least loaded shard (LPT), so a fleet's
 * wall time is close to the longest shard's rather than to the unluckiest file count. A file without a
 * timing weighs the median of the known ones (1 when none is known: then shards differ by at most one file).
 * Ties break on the file name, so every shard computes the same plan from the same inputs.
 *
 * @example
 * planShards(['drills/a.drill.ts', 'drills/b.drill.ts'], { 'drills/a.drill.ts': 600 }, 2).shards; // [['drills/a.drill.ts'], ['drills/b.drill.ts']]
 */
export function planShards(
  files: readonly string[],
  timings: Readonly<Record<string, number>>,
  count: number,
): ShardPlan {
  const sorted = [...new Set(files)].sort();
  const known = sorted
    .map((f) => timings[f])
    .filter((t): t is number => typeof t === 'number' && Number.isFinite(t) && t >= 0);
  const fallback = known.length > 0 ? median(known) : 1;
  const weights = Object.fromEntries(
    sorted.map((f) => [
      f,
      known.length > 0 && typeof timings[f] === 'number' && timings[f] >= 0 ? timings[f] : fallback,
    ]),
  );
  const order = [...sorted].sort((a, b) => weights[b]! - weights[a]! || (a < b ? -1 : 1));
  const loads = Array.from({ length: count }, () => 0);
  const shards: string[][] = Array.from({ length: count }, () => []);
  for (const file of order) {
    let target = 0;
    for (let i = 1; i < count; i++)
      if (loads[i]! < loads[target]! || (loads[i] === loads[target] && shards[i]!.length < shards[target]!.length))
        target = i;
    loads[target]! += weights[file]!;
    shards[target]!.push(file);
  }
  for (const shard of shards) shard.sort();
  const digest = `sha256:${createHash('sha256')
    .update(JSON.stringify({ count, files: sorted, weights: sorted.map((f) => weights[f]) }))
    .digest('hex')}`;
  return { count, files: sorted, weights, balancedBy: known.length > 0 ? 'timings' : 'file count', shards, digest };
}

function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
