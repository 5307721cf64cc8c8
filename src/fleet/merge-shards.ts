import { basename, join } from 'node:path';
import { ConfigError, RestoreDrillError } from '../errors.ts';
import { fileDigest, readReportFile } from '../evidence/report-files.ts';
import type { DrillMeta } from '../model/drill-meta.ts';
import type { NotRunDrill } from '../views/ci-summary.ts';
import { parseShardManifest, readShardManifest, type ShardManifest } from './shard-manifest.ts';
import { storedShardName } from './shard-spec.ts';
import { planShards } from './shard-plan.ts';

/** One shard's manifest, where it came from, and the directory holding its signed reports. */
export interface ShardSource {
  /** The shard directory, or the manifest's place in the evidence store: how messages name the shard. */
  readonly dir: string;
  readonly reportsDir: string;
  readonly manifest: ShardManifest;
}

/**
 * The shards of `merge SHARD_DIR…`: each directory's `shard.json`, its reports beside it.
 *
 * @example
 * const shards = await readShardDirs(['shards/1', 'shards/2']);
 */
export async function readShardDirs(dirs: readonly string[]): Promise<ShardSource[]> {
  return Promise.all(dirs.map(async (dir) => ({ dir, reportsDir: dir, manifest: await readShardManifest(dir) })));
}

/**
 * The shards of `merge --evidence s3://… --fleet-run ID --expect-shards N`: the manifests the shards kept
 * in the store (`fleet/runs/ID/shard-i-of-N.json`); their reports are the store's, copied into `reportsDir`.
 *
 * @example
 * const shards = await readStoredShards('s3://audit/restore-drill/', 'gh-123-1', 16, 'merged/reports');
 */
export async function readStoredShards(
  uri: string,
  fleetRun: string,
  count: number,
  reportsDir: string,
): Promise<ShardSource[]> {
  const { openEvidenceStore } = await import('../evidence/evidence-store.ts');
  const store = await openEvidenceStore(uri);
  try {
    const found: ShardSource[] = [];
    for (let index = 1; index <= count; index++) {
      const name = storedShardName(fleetRun, { index, count });
      const bytes = await store.readFleetFile(name);
      const where = `${uri.replace(/\/?$/, '/')}fleet/${name}`;
      if (bytes) found.push({ dir: where, reportsDir, manifest: parseShardManifest(bytes.toString('utf8'), where) });
    }
    if (found.length === 0) {
      throw new RestoreDrillError(
        `no shard of fleet run ${fleetRun} (of ${count}) is in ${uri}: none of its ${count} shard(s) started`,
        'check --fleet-run and --evidence: they must be what the shards ran with',
      );
    }
    return found;
  } finally {
    store.destroy();
  }
}

/** One shard as merge found it. */
export interface MergedShard {
  readonly index: number;
  readonly dir: string;
  readonly reportsDir: string;
  readonly manifest: ShardManifest;
  /** False when the shard never wrote its end (crashed or killed half-way). */
  readonly finished: boolean;
}

/** A drill of the fleet that wrote a signed report, and where. */
export interface FleetDrill {
  readonly file: string;
  readonly shard: number;
  readonly dir: string;
  readonly drill: DrillMeta;
}

/** The shards joined: every drill that ran, every drill that did not and why, and what makes the merge fail. */
export interface MergedFleet {
  readonly count: number;
  readonly shards: readonly MergedShard[];
  /** Indexes of expected shards that no directory holds. */
  readonly missing: readonly number[];
  readonly planDigest: string;
  readonly balancedBy: string;
  /** Every drill file of the fleet. */
  readonly files: readonly string[];
  readonly drills: readonly FleetDrill[];
  /** Drills (or files) that wrote no report: their own reason, or the shard that never ran them. */
  readonly notRun: readonly (NotRunDrill & { readonly file: string })[];
  /** Why the merged result is not a pass, beyond failed drills: missing or unfinished shards, reports that do not match. */
  readonly problems: readonly string[];
  /** The evidence store the shards appended to, when they did. */
  readonly evidence: string | null;
}

/**
 * Reads each shard directory's `shard.json` and joins them. Usage errors (exit 2): no directory, shards of
 * different runs (counts or plans differ), two directories of one index, `expectShards` not the count the
 * shards were run with. Everything else that keeps the fleet from being whole is a problem in the result:
 * a missing shard (its drills are named as not run, from the plan every shard records), one that ended
 * half-way, a drill whose signed report is not in its directory as recorded.
 *
 * @example
 * const fleet = await mergeShards(['shards/1', 'shards/2'], { expectShards: 2 });
 * if (fleet.problems.length > 0) console.log(fleet.problems.join('\n'));
 */
export async function mergeShards(
  read: readonly ShardSource[],
  options: { expectShards?: number } = {},
): Promise<MergedFleet> {
  if (read.length === 0)
    throw new ConfigError(
      'no shard directories given',
      'name the --report-dir of every `restore-drill run --shard i/N`, e.g. restore-drill merge shards/*',
    );
  const first = read[0]!;
  const count = first.manifest.shard.count;
  const byIndex = new Map<number, ShardSource>();
  for (const shard of read) {
    const { index, count: its } = shard.manifest.shard;
    if (its !== count)
      throw new ConfigError(
        `${shard.dir} is shard ${index}/${its}, but ${first.dir} is one of ${count}`,
        'merge the shards of one run: they all name the same count',
      );
    if (index > its)
      throw new ConfigError(
        `${shard.dir}: shard index ${index} is out of range 1..${its}`,
        'run it again with --shard INDEX/COUNT',
      );
    const twin = byIndex.get(index);
    if (twin)
      throw new ConfigError(
        `${twin.dir} and ${shard.dir} are both shard ${index}/${count}`,
        'give every job of the matrix its own index (e.g. --shard ${{ matrix.shard }}/N), then run again',
      );
    if (shard.manifest.plan.digest !== first.manifest.plan.digest) {
      throw new ConfigError(
        `${shard.dir} (shard ${index}/${count}) was planned from other drill files or timings than ${first.dir} (plan ${shard.manifest.plan.digest.slice(0, 19)}… vs ${first.manifest.plan.digest.slice(0, 19)}…): a drill may have run twice or not at all`,
        'run every shard from the same checkout and the same --timings (or evidence store), then merge again',
      );
    }
    byIndex.set(index, shard);
  }
  if (options.expectShards !== undefined && options.expectShards !== count) {
    throw new ConfigError(
      `--expect-shards ${options.expectShards}, but the shards were run as ${count}`,
      'pass the N of the matrix (--shard i/N) to --expect-shards',
    );
  }
  const plan = first.manifest.plan;
  // Every shard recorded the same inputs, so the plan of a shard that never reported can be recomputed.
  const planned = planShards(plan.files, plan.weights, count);
  const problems: string[] = [];
  const notRun: (NotRunDrill & { file: string })[] = [];
  const drills: FleetDrill[] = [];
  const missing: number[] = [];
  const shards: MergedShard[] = [];
  for (let index = 1; index <= count; index++) {
    const shard = byIndex.get(index);
    if (!shard) {
      missing.push(index);
      const files = planned.shards[index - 1]!;
      problems.push(
        `shard ${index}/${count} is missing: no directory holds its shard.json (its job failed to start or its artifact was lost); ${files.length} drill file(s) not run`,
      );
      for (const file of files)
        notRun.push({ file, name: file, reason: `not run: shard ${index}/${count} is missing` });
      continue;
    }
    const { manifest, dir, reportsDir } = shard;
    const finished = manifest.finishedAt !== null;
    shards.push({ index, dir, reportsDir, manifest, finished });
    if (!finished)
      problems.push(
        `shard ${index}/${count} (${dir}) did not finish: it crashed or was killed half-way; its reports are merged and the drills it did not run are named`,
      );
    else if (manifest.end === 'interrupted') problems.push(`shard ${index}/${count} (${dir}) was interrupted`);
    const accounted = new Set<string>();
    for (const result of manifest.results) {
      accounted.add(result.file);
      const problem = await reportProblem(reportsDir, result.drill);
      if (problem) {
        problems.push(`shard ${index}/${count}: drill "${result.drill.name}": ${problem}`);
        notRun.push({
          file: result.file,
          name: result.drill.name,
          reason: `its signed report is not in ${reportsDir}: ${problem}`,
        });
        continue;
      }
      drills.push({ file: result.file, shard: index, dir, drill: result.drill });
    }
    for (const entry of manifest.notRun) {
      accounted.add(entry.file);
      notRun.push({ file: entry.file, name: entry.name, reason: entry.reason });
    }
    for (const file of manifest.assigned) {
      if (accounted.has(file)) continue;
      notRun.push({
        file,
        name: file,
        reason: finished
          ? `not run: shard ${index}/${count} ended (${manifest.end}) before running it`
          : `not run: shard ${index}/${count} crashed before running it`,
      });
    }
  }
  const evidence = [...byIndex.values()].map((s) => s.manifest.evidence).find((e) => e !== null) ?? null;
  return {
    count,
    shards,
    missing,
    planDigest: plan.digest,
    balancedBy: plan.balancedBy,
    files: plan.files,
    drills,
    notRun,
    problems,
    evidence,
  };
}

/** Binds a shard's (unsigned) record of a drill to the signed report it names: there, and the same bytes. */
async function reportProblem(dir: string, drill: DrillMeta): Promise<string | null> {
  const name = basename(drill.reportPath);
  const read = await readReportFile(join(dir, name)).catch((error: NodeJS.ErrnoException) => ({
    reason: error.code === 'ENOENT' ? 'is missing' : `cannot be read (${error.code ?? error.message})`,
  }));
  if (!('bytes' in read)) return `${name} ${read.reason}`;
  if (drill.ledger && fileDigest(read.bytes) !== drill.ledger.digest)
    return `${name} is not the report the shard wrote (digest differs: replaced or edited)`;
  // The shard's record is unsigned: the status merge counts must be the one the report itself carries.
  const signed = signedStatus(read.bytes);
  if (signed !== drill.status)
    return `${name} says ${signed ?? 'nothing readable'}, but the shard recorded ${drill.status}`;
  return null;
}

/** The `status` a report's payload carries (read, not verified: `--key` verifies the signatures). */
function signedStatus(bytes: Buffer): string | null {
  try {
    const envelope = JSON.parse(bytes.toString('utf8')) as { payload?: unknown };
    if (typeof envelope.payload !== 'string') return null;
    const statement = JSON.parse(Buffer.from(envelope.payload, 'base64').toString('utf8')) as {
      predicate?: { status?: unknown };
    };
    return typeof statement.predicate?.status === 'string' ? statement.predicate.status : null;
  } catch {
    return null;
  }
}
