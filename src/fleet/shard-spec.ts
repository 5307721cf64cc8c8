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

/** The variable `run --shard` and `merge` read the fleet run id from when `--fleet-run` is not given. */
export const FLEET_RUN_ENV = 'RESTORE_DRILL_FLEET_RUN';

/**
 * Checks a fleet run id (`--fleet-run`, or `$RESTORE_DRILL_FLEET_RUN`): what ties the shards of one run
 * together in an evidence store, e.g. the CI run id or the Kubernetes Job's name.
 *
 * @example
 * parseFleetRun('gh-9876543210-1'); // 'gh-9876543210-1'
 */
export function parseFleetRun(text: string | undefined, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const value = text ?? (env[FLEET_RUN_ENV]?.trim() || undefined);
  if (value === undefined) return undefined;
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(value)) {
    throw new ConfigError(
      `bad fleet run id "${value}"`,
      'use letters, digits, dot, dash and underscore (at most 128), e.g. the CI run id',
    );
  }
  return value;
}

/** The key of a shard's manifest in the evidence store, under `fleet/`. */
export function storedShardName(fleetRun: string, shard: ShardSpec): string {
  return `runs/${fleetRun}/shard-${shard.index}-of-${shard.count}.json`;
}
