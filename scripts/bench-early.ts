// Checksumming during the restore, in-process: a tuned cluster, pg_restore -j<cores>, and the comparison with
// the dump's manifest started either after the restore or as tables are restored (after their data, or after
// their ACCESS EXCLUSIVE steps too), with the typed or the portable row hash. No CLI start-up, report or
// locate: only what this choice changes.
import { availableParallelism } from 'node:os';
import { newRunId } from '../src/environments/labels.ts';
import { localPostgres } from '../src/environments/local/local-postgres.ts';
import { findPgBinaries } from '../src/postgres/pg-binaries.ts';
import { runCommand } from '../src/postgres/run-command.ts';
import { TableDataTracker, type RestoredWhen } from '../src/postgres/table-data-tracker.ts';
import { compareWithMarker, startComparison } from '../src/verify/compare.ts';
import type { MarkerManifest } from '../src/model/marker.ts';
import type { RunResult } from './bench-runs.ts';

/** How the comparison is scheduled. */
export interface EarlyOptions {
  /** null: compare after the restore. */
  readonly when: RestoredWhen | null;
  readonly typed: boolean;
  /** Limit the comparison to the restore's idle workers while it runs (what drills do). */
  readonly idleOnly: boolean;
}

/** A drill's provision, restore and verify in this process; phases in seconds. */
export async function restoreAndCompare(
  dumpPath: string,
  manifest: MarkerManifest,
  options: EarlyOptions,
): Promise<RunResult> {
  const pgRestore = findPgBinaries({ tools: ['pg_restore'] }).path('pg_restore');
  const jobs = availableParallelism();
  const started = performance.now();
  const env = await localPostgres().start({ runId: newRunId(), drillName: 'bench early', log: () => {} });
  const phases: Record<string, number> = { provision: since(started) };
  try {
    let at = performance.now();
    const compareOptions = { label: 'manifest', typed: options.typed };
    await using comparison = options.when
      ? startComparison(env.connectionConfig(), manifest, compareOptions)
      : undefined;
    const onWorkers = options.idleOnly ? comparison?.restoreWorkers : undefined;
    const tracker = comparison
      ? await TableDataTracker.forDump(pgRestore, dumpPath, jobs, comparison.tableRestored, {
          when: options.when!,
          onWorkers,
        })
      : undefined;
    await runCommand(
      pgRestore,
      [
        '--verbose',
        '--no-owner',
        '--no-privileges',
        '--exit-on-error',
        `--jobs=${jobs}`,
        `--dbname=${env.database}`,
        dumpPath,
      ],
      {
        env: env.libpqEnv(),
        onStderrLine: (line) => tracker?.line(line),
      },
    );
    tracker?.end();
    phases.restore = since(at);
    at = performance.now();
    const checks = comparison
      ? await comparison.finish()
      : await compareWithMarker(env.connectionConfig(), manifest, compareOptions);
    phases.verify = since(at);
    const failed = checks.filter((check) => check.status !== 'passed');
    if (failed.length > 0)
      throw new Error(`comparison failed: ${failed.map((check) => `${check.name}: ${check.detail}`).join('; ')}`);
  } finally {
    const at = performance.now();
    await env.stop();
    phases.other = since(at);
  }
  return { seconds: Object.values(phases).reduce((a, b) => a + b, 0), phases };
}

function since(start: number): number {
  return (performance.now() - start) / 1000;
}
