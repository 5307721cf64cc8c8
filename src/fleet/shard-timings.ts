import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { ConfigError } from '../errors.ts';

/** The name `merge` keeps timings under: in its output folder, and as `fleet/timings.json` in an evidence store. */
export const TIMINGS_FILE = 'timings.json';

const timingsSchema = z.object({ version: z.literal(1), drills: z.record(z.string(), z.number().nonnegative()) });

/** Seconds per drill file, from the last merged run: what the next run's shards are balanced by. */
export type Timings = Readonly<Record<string, number>>;

/**
 * Parses a timings file (`{ "version": 1, "drills": { "drills/fleet/billing.drill.ts": 812.4 } }`).
 *
 * @example
 * const timings = parseTimings(await readFile('timings.json', 'utf8'), 'timings.json');
 */
export function parseTimings(text: string, where: string): Timings {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ConfigError(
      `${where} is not JSON`,
      'pass the timings.json that restore-drill merge wrote, or leave --timings out',
    );
  }
  const parsed = timingsSchema.safeParse(value);
  if (!parsed.success)
    throw new ConfigError(
      `${where} is not a timings file: ${parsed.error.issues[0]!.path.join('.') || 'top level'}: ${parsed.error.issues[0]!.message}`,
      'pass the timings.json that restore-drill merge wrote',
    );
  return parsed.data.drills;
}

/** Reads `--timings FILE`. */
export async function readTimingsFile(path: string): Promise<Timings> {
  const text = await readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw new ConfigError(
      `cannot read --timings ${path}: ${error.code ?? error.message}`,
      'pass the timings.json that restore-drill merge wrote, or leave --timings out to balance by file count',
    );
  });
  return parseTimings(text, path);
}

/**
 * Seconds per drill file from drills' start and finish (a file's drills add up).
 *
 * @example
 * renderTimings(timingsOf([{ file: 'drills/a.drill.ts', startedAt, finishedAt }]));
 */
export function timingsOf(
  results: ReadonlyArray<{ readonly file: string; readonly startedAt: string; readonly finishedAt: string }>,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of results) {
    const seconds = (Date.parse(r.finishedAt) - Date.parse(r.startedAt)) / 1000;
    if (Number.isFinite(seconds) && seconds >= 0) out[r.file] = Math.round(((out[r.file] ?? 0) + seconds) * 10) / 10;
  }
  return out;
}

/** The timings file's text. */
export function renderTimings(drills: Timings): string {
  const sorted = Object.fromEntries(Object.entries(drills).sort(([a], [b]) => (a < b ? -1 : 1)));
  return `${JSON.stringify({ version: 1, drills: sorted }, null, 2)}\n`;
}

/**
 * The timings a shard plan is balanced by: `--timings FILE`, else those the last `merge` left in the
 * evidence store (`fleet/timings.json`: written only between fleet runs, so every shard of one run reads
 * the same), else none (balanced by file count).
 *
 * @example
 * const timings = await loadShardTimings({ timingsFile: opts.timings, evidence: 's3://audit/restore-drill/' });
 */
export async function loadShardTimings(options: { timingsFile?: string; evidence?: string }): Promise<Timings> {
  if (options.timingsFile) return readTimingsFile(options.timingsFile);
  if (!options.evidence) return {};
  const { openEvidenceStore } = await import('../evidence/evidence-store.ts');
  const store = await openEvidenceStore(options.evidence);
  try {
    const bytes = await store.readFleetFile(TIMINGS_FILE);
    return bytes
      ? parseTimings(bytes.toString('utf8'), `${options.evidence.replace(/\/?$/, '/')}fleet/${TIMINGS_FILE}`)
      : {};
  } finally {
    store.destroy();
  }
}
