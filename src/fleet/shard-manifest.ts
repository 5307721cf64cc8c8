import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { ConfigError } from '../errors.ts';
import type { DrillMeta } from '../model/drill-meta.ts';

/** The file every `run --shard` writes into its report directory: what it was given, and what came of it. */
export const SHARD_FILE = 'shard.json';

const drillMeta = z.custom<DrillMeta>(
  (v) =>
    typeof v === 'object' &&
    v !== null &&
    typeof (v as DrillMeta).name === 'string' &&
    ['passed', 'failed', 'error'].includes((v as DrillMeta).status) &&
    typeof (v as DrillMeta).reportPath === 'string',
  'a drill result',
);

export const shardManifestSchema = z.object({
  version: z.literal(1),
  shard: z.object({ index: z.number().int().min(1), count: z.number().int().min(1) }),
  plan: z.object({
    digest: z.string(),
    balancedBy: z.enum(['timings', 'file count']),
    files: z.array(z.string()),
    weights: z.record(z.string(), z.number()),
  }),
  /** The drill files this shard was given. */
  assigned: z.array(z.string()),
  evidence: z.string().nullable(),
  startedAt: z.string(),
  /** Null until the shard ended: a shard that crashed leaves it null. */
  finishedAt: z.string().nullable(),
  end: z.enum(['passed', 'failed', 'interrupted']).nullable(),
  results: z.array(z.object({ file: z.string(), drill: drillMeta })),
  notRun: z.array(z.object({ file: z.string(), name: z.string(), reason: z.string() })),
});

/** `shard.json`: one shard's plan, assignment and results. */
export type ShardManifest = z.infer<typeof shardManifestSchema>;

/**
 * Reads `<dir>/shard.json`. A directory without one is a usage error: it is not a shard's report directory.
 *
 * @example
 * const manifest = await readShardManifest('shards/3');
 */
export async function readShardManifest(dir: string): Promise<ShardManifest> {
  const path = join(dir, SHARD_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as { code?: string }).code;
    throw new ConfigError(
      `${dir} is not a shard's report directory: ${code === 'ENOENT' ? `no ${SHARD_FILE}` : `cannot read ${SHARD_FILE} (${code ?? (error as Error).message})`}`,
      'name the --report-dir of each `restore-drill run --shard i/N` (a shard that never started has none: leave it out and merge names it missing)',
    );
  }
  return parseShardManifest(text, path);
}

/** Parses a shard manifest's text; `path` names it in errors. */
export function parseShardManifest(text: string, path: string): ShardManifest {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ConfigError(`${path} is not JSON`, 'it was cut short or edited; run that shard again');
  }
  const parsed = shardManifestSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ConfigError(
      `${path} is not a shard manifest: ${issue.path.join('.') || 'top level'}: ${issue.message}`,
      'it was edited or written by another version; run that shard again',
    );
  }
  return parsed.data;
}
