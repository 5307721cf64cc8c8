// npm run bench -- --physical [--shapes A,B] [--scale F] [--rows N] [--sizes A,B] [--repeat R]
// Physical against logical restore of the SAME data, side by side: a shape is seeded into an archiving
// cluster, then a pg_basebackup (with the WAL archive) and a pg_dump of that one state are taken; each round
// restores both into a fresh localPostgres() — the base backup laid down and its WAL replayed (the environment's
// physical restore, pg_verifybackup included), and the dump through pg_restore — and prints the times and the
// physical / logical ratio. The backup is taken after seeding (a nightly base backup): replay is the WAL from
// the backup's start to the archive's end, not the data load.
import { join } from 'node:path';
import pg from 'pg';
import { newRunId } from '../src/environments/labels.ts';
import { localPostgres } from '../src/environments/local/local-postgres.ts';
import { findPgBinaries } from '../src/postgres/pg-binaries.ts';
import { runCommand } from '../src/postgres/run-command.ts';
import { startArchivingCluster } from '../src/sources/basebackup/archiving-cluster.testkit.ts';
import { baseBackupSource } from '../src/sources/basebackup/base-backup-source.ts';
import { fileSource } from '../src/sources/file/file-source.ts';
import type { Source } from '../src/sources/source.ts';
import { seedShape, type BenchShape } from './bench-shapes.ts';

const median = (values: readonly number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** Times one restore of `source`'s newest point into a fresh local cluster; returns seconds (and replay's). */
async function timeRestore(
  source: Source,
  workDir: string,
): Promise<{ seconds: number; replaySeconds: number | null }> {
  const log = () => {};
  const started = performance.now();
  const [point] = await source.list({ workDir, log });
  const restorable = await source.fetch(point!, { workDir, log });
  await using env = await localPostgres().start({ runId: newRunId(), drillName: 'bench physical', log });
  await env.restore(restorable, { log });
  const seconds = (performance.now() - started) / 1000;
  const replay = env.facts?.replaySeconds;
  return { seconds, replaySeconds: typeof replay === 'number' ? replay : null };
}

/**
 * Runs the physical-against-logical comparison for each shape and size, `repeat` rounds each, and prints one
 * line per size with the medians and the ratio.
 *
 * @example
 * await benchPhysical([BENCH_SHAPES[0]!], () => [10_000], 1, console.error);
 */
export async function benchPhysical(
  shapes: readonly BenchShape[],
  sizesOf: (shape: BenchShape) => number[],
  repeat: number,
  log: (line: string) => void,
): Promise<void> {
  const out: string[] = [
    '',
    'physical (pg_basebackup + WAL replay) against logical (pg_dump -Fc + pg_restore), same data:',
  ];
  for (const shape of shapes) {
    for (const rows of sizesOf(shape)) {
      await using production = await startArchivingCluster();
      const seedStart = performance.now();
      const client = new pg.Client(production.env.connectionConfig('postgres'));
      await client.connect();
      await client.query('create database bench').finally(() => client.end());
      const bench = new pg.Client(production.env.connectionConfig('bench'));
      await bench.connect();
      await seedShape(bench, shape, rows).finally(() => bench.end());
      log(
        `physical bench: ${shape.name} ${rows.toLocaleString('en')} rows seeded in ${((performance.now() - seedStart) / 1000).toFixed(1)} s`,
      );
      const backup = join(production.work, 'base');
      await production.basebackup(backup, 'p');
      const dump = join(production.work, 'bench.dump');
      await runCommand(findPgBinaries({ tools: ['pg_dump'] }).path('pg_dump'), ['-Fc', '-f', dump, 'bench'], {
        env: production.env.libpqEnv('bench'),
      });
      await production.switchAndArchive();
      const physical: number[] = [];
      const replay: number[] = [];
      const logical: number[] = [];
      for (let round = 0; round < repeat; round++) {
        const p = await timeRestore(
          baseBackupSource({ path: backup, walArchive: production.archive, database: 'bench' }),
          production.work,
        );
        physical.push(p.seconds);
        if (p.replaySeconds !== null) replay.push(p.replaySeconds);
        logical.push((await timeRestore(fileSource(dump), production.work)).seconds);
        log(
          `  round ${round + 1}: physical ${p.seconds.toFixed(2)} s (replay ${p.replaySeconds?.toFixed(2) ?? '?'} s), logical ${logical.at(-1)!.toFixed(2)} s`,
        );
      }
      const ratio = median(physical) / median(logical);
      out.push(
        `  ${shape.name} ${rows.toLocaleString('en')} rows: physical ${median(physical).toFixed(2)} s (of which WAL replay ${replay.length ? median(replay).toFixed(2) : '?'} s), logical ${median(logical).toFixed(2)} s; physical / logical = ${ratio.toFixed(3)} (medians of ${repeat})`,
      );
    }
  }
  process.stdout.write(`${out.join('\n')}\n`);
}
