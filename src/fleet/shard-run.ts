import { join, relative, sep } from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import {
  BaseSequencer,
  type Reporter,
  type TestCase,
  type TestModule,
  type TestRunEndReason,
  type TestSequencerConstructor,
  type TestSpecification,
  type Vitest,
} from 'vitest/node';
import { writeFileAtomically } from '../util/atomic-write.ts';
import { ConfigError } from '../errors.ts';
import { planShards, type ShardPlan } from './shard-plan.ts';
import { SHARD_FILE, type ShardManifest } from './shard-manifest.ts';
import { formatShard, storedShardName, type ShardSpec } from './shard-spec.ts';
import type { Timings } from './shard-timings.ts';

/** What `run --shard` hands Vitest: the sequencer that picks this shard's files, and the reporter that records them. */
export interface ShardRun {
  readonly sequencer: TestSequencerConstructor;
  readonly reporter: Reporter;
  /** Vitest's blob report of this shard (`vitest --merge-reports` reads a folder of them). */
  readonly blobFile: string;
}

/**
 * One shard of a fleet run. The sequencer plans every drill file into shards ({@link planShards}) and keeps
 * this shard's; `shard.json` is written before the first drill starts (`finishedAt: null`), after each drill,
 * and when the run ends, so a shard that crashed half-way is told apart from one that finished, and the
 * drills it ran from those it did not.
 *
 * @example
 * const shard = shardRun({ index: 3, count: 16 }, { reportDir: 'reports', timings, evidence: undefined });
 * createVitest('test', { shard: '3/16', sequence: { sequencer: shard.sequencer }, reporters: [shard.reporter] });
 */
export function shardRun(
  spec: ShardSpec,
  options: { reportDir: string; timings: Timings; evidence?: string; fleetRun?: string; root?: string },
): ShardRun {
  const root = options.root ?? process.cwd();
  const path = join(options.reportDir, SHARD_FILE);
  const rel = (moduleId: string) => relative(root, moduleId).split(sep).join('/');
  let manifest: ShardManifest | undefined;
  // Writes go one after another: an older write finishing last would put back a shorter record.
  let writes: Promise<void> = Promise.resolve();
  const write = (first = false) => {
    const next = writes.then(() => writeNow(first));
    writes = next.catch(() => {});
    return next;
  };
  const writeNow = async (first: boolean) => {
    const text = `${JSON.stringify(manifest, null, 2)}\n`;
    const problem = await writeFileAtomically(path, text);
    if (problem)
      throw new ConfigError(`cannot write ${path}: ${problem}`, 'pass --report-dir with a writable directory');
    if (options.evidence && options.fleetRun)
      await storeCopy(options.evidence, storedShardName(options.fleetRun, spec), text, first);
  };
  const start = async (plan: ShardPlan) => {
    manifest = {
      version: 1,
      shard: { index: spec.index, count: spec.count },
      plan: { digest: plan.digest, balancedBy: plan.balancedBy, files: [...plan.files], weights: { ...plan.weights } },
      assigned: [...plan.shards[spec.index - 1]!],
      evidence: options.evidence ?? null,
      startedAt: new Date().toISOString(),
      finishedAt: null,
      end: null,
      results: [],
      notRun: [],
    };
    await write(true);
  };

  class FleetSequencer extends BaseSequencer {
    constructor(ctx: Vitest) {
      super(ctx);
    }
    override async shard(files: TestSpecification[]): Promise<TestSpecification[]> {
      const plan = planShards(
        files.map((f) => rel(f.moduleId)),
        options.timings,
        spec.count,
      );
      await start(plan);
      const mine = new Set(plan.shards[spec.index - 1]);
      return files.filter((f) => mine.has(rel(f.moduleId)));
    }
  }

  const reporter: Reporter = {
    onTestCaseResult(testCase: TestCase): Promise<void> | undefined {
      if (!manifest) return;
      const file = rel(testCase.module.moduleId);
      const drill = testCase.meta().restoreDrill;
      if (drill) {
        manifest.results.push({ file, drill });
        // Recorded as each drill ends, so a shard killed half-way (SIGKILL, OOM, a lost node) leaves a
        // shard.json that names the drills it ran, and merge can tell them from the ones it never ran.
        return write();
      }
      const result = testCase.result();
      if (result.state === 'failed')
        manifest.notRun.push({ file, name: testCase.name, reason: firstLine(result.errors?.[0]?.message) });
      return undefined;
    },
    async onTestRunEnd(modules: ReadonlyArray<TestModule>, _errors: unknown, reason: TestRunEndReason) {
      if (!manifest) return;
      for (const module of modules) {
        for (const error of module.errors())
          manifest.notRun.push({
            file: rel(module.moduleId),
            name: rel(module.moduleId),
            reason: `could not be loaded: ${firstLine(error.message)}`,
          });
      }
      manifest.finishedAt = new Date().toISOString();
      manifest.end = reason;
      await write();
    },
  };
  return {
    sequencer: FleetSequencer,
    reporter,
    blobFile: join(options.reportDir, `vitest-blob-${spec.index}-${spec.count}.json`),
  };
}

/**
 * The manifest's copy in the store, so `merge --evidence` needs no shard directories (Kubernetes, AWS
 * Batch). The first write must create it: a second job with the same index fails at once.
 */
async function storeCopy(uri: string, name: string, text: string, first: boolean): Promise<void> {
  const { openEvidenceStore } = await import('../evidence/evidence-store.ts');
  const store = await openEvidenceStore(uri);
  try {
    if ((await store.writeFleetFile(name, text, { create: first })) === 'exists') {
      const shard = /shard-(\d+)-of-(\d+)/.exec(name)!;
      throw new ConfigError(
        `shard ${formatShard({ index: Number(shard[1]), count: Number(shard[2]) })} of this fleet run was already started by another job (${uri.replace(/\/?$/, '/')}fleet/${name} exists)`,
        'give every job its own index, and every fleet run its own --fleet-run id',
      );
    }
  } finally {
    store.destroy();
  }
}

function firstLine(text: string | undefined): string {
  return stripVTControlCharacters(text ?? 'unknown error').split('\n')[0] ?? '';
}
