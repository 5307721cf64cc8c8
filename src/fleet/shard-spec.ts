import { ConfigError } from '../errors.ts';

/** One slice of a fleet: shard `index` (1-based, as Vitest counts) of `count`. */
export interface ShardSpec {
  readonly index: number;
  readonly count: number;
}

/**
 * Parses `--shard i/N` (1 ≤ i ≤ N). A Kubernetes Indexed Job or an AWS Batch array counts from 0: pass
 * `$((JOB_COMPLETION_INDEX + 1))/N`.
 *
 * @example
 * parseShard('3/16'); // { index: 3, count: 16 }
 */
export function parseShard(text: string, what = '--shard'): ShardSpec {
  const match = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  if (!match) throw new ConfigError(`bad ${what} "${text}"`, 'write INDEX/COUNT, e.g. 3/16 (the index counts from 1)');
  const index = Number(match[1]);
  const count = Number(match[2]);
  if (count < 1 || count > 10_000)
    throw new ConfigError(`bad ${what} "${text}": the count must be between 1 and 10000`, 'e.g. --shard 3/16');
  if (index < 1 || index > count) {
    throw new ConfigError(
      `${what} ${text}: index ${index} is out of range 1..${count}`,
      index === 0
        ? 'shards count from 1; with a 0-based index (JOB_COMPLETION_INDEX, AWS_BATCH_JOB_ARRAY_INDEX) pass $((INDEX + 1))'
        : `use an index from 1 to ${count}`,
    );
  }
  return { index, count };
}

/** `3/16`. */
export function formatShard(shard: ShardSpec): string {
  return `${shard.index}/${shard.count}`;
}
