// npm run bench [-- --shapes A,B] [--scale F] [--rows N] [--sizes A,B] [--repeat R] [--ablations] [--verify-variants] [--early] [--restore-variants] [--verify-budget SECONDS] [--only REGEX] [--physical]
//
// How long a restore-drill check takes next to what users do by hand, on generated databases of several shapes
// (scripts/bench-shapes.ts: the original fixtures/bench, relational, wide, many small tables, one large table),
// each at two sizes (its default and a tenth of it). Per shape and size, every alternative runs R times,
// interleaved and in a rotating order, so they share the machine's noise; medians and their ratios are printed,
// and PASS/MISS per target of issue 19, per shape. Results are also written to
// .restore-drill/bench/results-<time>.json. Not part of `npm test`. For fewer cores: `taskset -c 0 npm run bench`.
import { availableParallelism, cpus, totalmem } from 'node:os';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { generateKeyPair, PRIVATE_KEY_FILE } from '../src/evidence/signing-key.ts';
import { findPgBinaries } from '../src/postgres/pg-binaries.ts';
import { newRunId } from '../src/environments/labels.ts';
import { localPostgres } from '../src/environments/local/local-postgres.ts';
import { BENCH_DIR, benchDump, type BenchDump } from './bench-database.ts';
import { BENCH_SHAPES, type BenchShape } from './bench-shapes.ts';
import { handRestore, restoreDrillCheck, type RunResult } from './bench-runs.ts';
import { restoreAndCompare } from './bench-early.ts';
import { BEFORE_IDENTITY, verifyRound, verifyVariants, WITH_OBJECTS, WITHOUT_OBJECTS } from './bench-verify.ts';
import { freshBundle } from '../bin/cli-bundle.js';
import { buildCli } from './build-cli.ts';
import { benchPhysical } from './bench-physical.ts';

const { values: flags } = parseArgs({
  options: {
    shapes: { type: 'string' },
    scale: { type: 'string', default: '1' },
    rows: { type: 'string', default: '2000000' },
    sizes: { type: 'string' },
    repeat: { type: 'string', default: '3' },
    ablations: { type: 'boolean', default: false },
    'verify-variants': { type: 'boolean', default: false },
    early: { type: 'boolean', default: false },
    'restore-variants': { type: 'boolean', default: false },
    'verify-budget': { type: 'string' },
    only: { type: 'string' },
    physical: { type: 'boolean', default: false },
  },
});
const shapes = flags.shapes
  ? flags.shapes
      .split(',')
      .map((name) => BENCH_SHAPES.find((shape) => shape.name === name) ?? usage(`no shape ${name}`))
  : BENCH_SHAPES;
const scale = Number(flags.scale);
const repeat = Number(flags.repeat);
/** Per shape its sizes: `--sizes`, else its default rows (`--rows` for the original shape) × scale, and a tenth of that. */
const sizesOf = (shape: BenchShape): number[] => {
  if (flags.sizes) return flags.sizes.split(',').map(Number);
  const rows = Math.round((shape.name === 'bench' ? Number(flags.rows) : shape.defaultRows) * scale);
  return [Math.round(rows / 10), rows];
};
// fixtures/bench needs 1,000 rows; 1,000 tables need one row each.
const smallest = (shape: BenchShape) => (shape.name === 'bench' || shape.name === 'many-tables' ? 1000 : 10);
if (
  !shapes.every((shape) => sizesOf(shape).every((n) => Number.isInteger(n) && n >= smallest(shape))) ||
  !(repeat >= 1)
)
  usage('--rows/--sizes/--scale need sizes of whole numbers (≥ 1,000 for bench and many-tables), --repeat ≥ 1');
const cores = availableParallelism();
const log = (line: string) => process.stderr.write(`${line}\n`);

if (flags.physical) {
  // Physical against logical restore of the same data (scripts/bench-physical.ts), instead of the usual rounds.
  await benchPhysical(shapes, sizesOf, repeat, log);
  process.exit(0);
}

await mkdir(BENCH_DIR, { recursive: true });
const keyDir = join(BENCH_DIR, 'keys');
if (!existsSync(join(keyDir, PRIVATE_KEY_FILE))) generateKeyPair(keyDir);
const signingKey = join(keyDir, PRIVATE_KEY_FILE);

log(
  `restore-drill bench: ${cores} cores (${cpus()[0]?.model ?? 'unknown CPU'}), ${Math.round(totalmem() / 2 ** 30)} GiB, PostgreSQL ${findPgBinaries({ tools: ['pg_restore'] }).version}`,
);
log(
  `shapes ${shapes
    .map(
      (shape) =>
        `${shape.name} (${sizesOf(shape)
          .map((n) => n.toLocaleString('en'))
          .join(' and ')} rows)`,
    )
    .join(', ')}; ${repeat} rounds each${flags.ablations ? ', with ablations' : ''}`,
);
const dumps = new Map<string, BenchDump>();
const keyOf = (shape: BenchShape, size: number) => `${shape.name} ${size}`;
for (const shape of shapes)
  for (const size of sizesOf(shape)) dumps.set(keyOf(shape, size), await benchDump(size, log, shape));
// `restore-drill` runs the bundled CLI when it is fresh (npm install builds it); measure that, not a fallback.
if (!freshBundle())
  log(`the CLI bundle was missing or stale: ${(await buildCli()).inputs} sources bundled into build/cli`);
// Drills copy a cached initdb template; the first cluster on a machine makes it. Make it before the timed runs.
await (await localPostgres().start({ runId: newRunId(), drillName: 'bench warm-up', log: () => {} })).stop();

interface Alternative {
  readonly name: string;
  readonly kind: 'baseline' | 'restore-drill' | 'floor' | 'ablation';
  run(round: number): Promise<RunResult>;
}

type Results = Map<string, RunResult[]>;
const results = new Map<string, { runs: Results; verify: Map<string, number[]> }>();
const variants = verifyVariants(
  flags['verify-variants'],
  flags['verify-budget'] === undefined ? undefined : Number(flags['verify-budget']),
);

for (const shape of shapes) {
  const largest = Math.max(...sizesOf(shape));
  const withAblations = shape.name === 'bench';
  for (const size of sizesOf(shape)) {
    const dump = dumps.get(keyOf(shape, size))!;
    const tables = Object.keys(dump.manifest.tables);
    const runs: Results = new Map();
    const verify = new Map<string, number[]>();
    const alternatives: Alternative[] = [
      {
        name: 'baseline: untuned, pg_restore -j1, count(*) + md5(string_agg)',
        kind: 'baseline',
        run: () => handRestore(dump.path, tables, { tuning: 'none', template: false, jobs: 1, verify: 'md5' }),
      },
      { name: 'restore-drill check', kind: 'restore-drill', run: () => restoreDrillCheck(dump.path, { signingKey }) },
      {
        name: `floor: tuned, pg_restore -j${cores}, count(*)`,
        kind: 'floor',
        run: (round) =>
          handRestore(dump.path, tables, {
            tuning: 'restore',
            template: true,
            jobs: cores,
            verify: 'count',
            // Verification alone, on this restored (and once scanned) cluster: not part of the floor's time.
            after: async (env) => {
              for (const [name, s] of await verifyRound(env.connectionConfig(), dump.manifest, variants, round))
                verify.set(name, [...(verify.get(name) ?? []), s]);
            },
          }),
      },
    ];
    if (flags.ablations && withAblations && size === largest) {
      alternatives.push(
        {
          name: `untuned, pg_restore -j${cores}, count(*)`,
          kind: 'ablation',
          run: () => handRestore(dump.path, tables, { tuning: 'none', template: false, jobs: cores, verify: 'count' }),
        },
        {
          name: 'tuned, pg_restore -j1, count(*)',
          kind: 'ablation',
          run: () => handRestore(dump.path, tables, { tuning: 'restore', template: true, jobs: 1, verify: 'count' }),
        },
        {
          name: `floor, initdb instead of the template: tuned, pg_restore -j${cores}, count(*)`,
          kind: 'ablation',
          run: () =>
            handRestore(dump.path, tables, { tuning: 'restore', template: false, jobs: cores, verify: 'count' }),
        },
        {
          name: 'restore-drill check, loading only what a local check needs, initdb instead of the template',
          kind: 'ablation',
          run: () => restoreDrillCheck(dump.path, { signingKey, initdb: true }),
        },
        {
          name: 'restore-drill check, portable checksums only',
          kind: 'ablation',
          run: () => restoreDrillCheck(dump.portablePath, { signingKey }),
        },
        {
          name: 'restore-drill check --verify-during-restore',
          kind: 'ablation',
          run: () => restoreDrillCheck(dump.path, { signingKey, args: ['--verify-during-restore'] }),
        },
        {
          name: `restore-drill check --jobs ${2 * cores}`,
          kind: 'ablation',
          run: () => restoreDrillCheck(dump.path, { signingKey, args: ['--jobs', String(2 * cores)] }),
        },
        {
          name: 'restore-drill check, loading only what a local check needs',
          kind: 'ablation',
          run: () => restoreDrillCheck(dump.path, { signingKey, lean: true }),
        },
        {
          name: 'restore-drill check from the sources through tsx (no bundle)',
          kind: 'ablation',
          run: () => restoreDrillCheck(dump.path, { signingKey, tsx: true }),
        },
      );
    }
    if (flags['restore-variants'] && withAblations && size === largest) {
      const restoreOnly = (name: string, jobs: number, settings?: Record<string, string | number | boolean>) =>
        alternatives.push({
          name: `restore only: ${name}`,
          kind: 'ablation',
          run: () =>
            handRestore(dump.path, tables, { tuning: 'restore', template: true, jobs, verify: 'count', settings }),
        });
      restoreOnly(`tuned, -j${cores}`, cores);
      restoreOnly(`tuned, -j${cores + 1}`, cores + 1);
      restoreOnly(`tuned, -j${2 * cores}`, 2 * cores);
      restoreOnly(`tuned, -j${cores}, no parallel index builds`, cores, { max_parallel_maintenance_workers: 0 });
      restoreOnly(`tuned, -j${cores}, shared_buffers 128MB`, cores, { shared_buffers: '128MB' });
      alternatives.push({
        name: `restore only: untuned, -j${cores}`,
        kind: 'ablation',
        run: () => handRestore(dump.path, tables, { tuning: 'none', template: true, jobs: cores, verify: 'count' }),
      });
    }
    if (flags.early && withAblations && size === largest) {
      const schedules = [
        { label: 'after the restore', when: null, idleOnly: false },
        { label: "as each table's data is loaded", when: 'data', idleOnly: false },
        { label: 'as each table is loaded and locked no more', when: 'exclusive-steps', idleOnly: false },
        {
          label: 'as each table is loaded and locked no more, on idle restore workers only',
          when: 'exclusive-steps',
          idleOnly: true,
        },
      ] as const;
      for (const typed of [true, false]) {
        for (const { label, when, idleOnly } of schedules) {
          alternatives.push({
            name: `in-process: ${typed ? 'rdsum-record/1' : 'rdsum-text-md5/1'}, compared ${label}`,
            kind: 'ablation',
            run: () => restoreAndCompare(dump.path, dump.manifest, { when, typed, idleOnly }),
          });
        }
      }
    }
    if (flags.only) {
      const only = new RegExp(flags.only);
      alternatives.splice(0, alternatives.length, ...alternatives.filter((alternative) => only.test(alternative.name)));
    }
    for (let round = 0; round < repeat; round++) {
      for (let i = 0; i < alternatives.length; i++) {
        const alternative = alternatives[(i + round) % alternatives.length]!;
        const result = await alternative.run(round);
        runs.set(alternative.name, [...(runs.get(alternative.name) ?? []), result]);
        log(
          `  ${shape.name}, ${size.toLocaleString('en')} rows, round ${round + 1}/${repeat}: ${alternative.name}: ${result.seconds.toFixed(2)} s`,
        );
      }
    }
    results.set(keyOf(shape, size), { runs, verify });
  }
}

// ---- report ----
const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};
const med = (list: readonly RunResult[], pick: (r: RunResult) => number | undefined) =>
  median(list.map(pick).filter((v): v is number => v !== undefined));
const fmt = (s: number) => `${s.toFixed(2)} s`;
const out: string[] = [];
const summary: Record<string, unknown> = { cores, memoryGiB: Math.round(totalmem() / 2 ** 30), repeat, shapes: {} };
/** Per shape, the five ratios of issue 19 and what object fingerprints add, at its largest size. */
const overview: Array<{ shape: BenchShape; cells: Record<string, { value: string; pass?: boolean }> }> = [];
const COLUMNS = [
  '/ baseline ≤ 0.50',
  '/ floor ≤ 1.15',
  'verify / count(*) ≤ 4',
  '10× rows ≤ 11× time',
  'memory flat (≤ +10 %)',
  'with / without rdobj/1 ≤ 1.10',
  'verify now / before issue 12 ≤ 1.10',
] as const;

for (const shape of shapes) {
  const sizes = sizesOf(shape);
  const largest = Math.max(...sizes);
  const cells: Record<string, { value: string; pass?: boolean }> = {};
  const shapeSummary: Record<string, unknown> = { describe: shape.describe, sizes, results: {} };
  (summary.shapes as Record<string, unknown>)[shape.name] = shapeSummary;
  out.push('', `# ${shape.name}: ${shape.describe}`);
  for (const size of sizes) {
    const { runs, verify } = results.get(keyOf(shape, size))!;
    const dump = dumps.get(keyOf(shape, size))!;
    out.push(
      '',
      `## ${shape.name}, ${size.toLocaleString('en')} rows (${Object.keys(dump.manifest.tables).length} tables, dump ${(dump.bytes / 2 ** 20).toFixed(0)} MiB) — medians of ${repeat}`,
    );
    out.push(
      '',
      '| alternative | end to end | CLI start-up | locate | provision | restore | verify | other | peak RSS |',
      '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    );
    for (const [name, list] of runs) {
      const cell = (phase: string) =>
        list.some((r) => r.phases[phase] !== undefined) ? fmt(med(list, (r) => r.phases[phase])) : '';
      const rss = list.some((r) => r.rssKb) ? `${(med(list, (r) => r.rssKb) / 1024).toFixed(0)} MiB` : '';
      out.push(
        `| ${name} | ${fmt(med(list, (r) => r.seconds))} | ${cell('startup')} | ${cell('locate')} | ${cell('provision')} | ${cell('restore')} | ${cell('verify')} | ${cell('other')} | ${rss} |`,
      );
    }
    const drill = runs.get('restore-drill check');
    const baselineRuns = [...runs].find(([name]) => name.startsWith('baseline'))?.[1];
    const floorRuns = [...runs].find(([name]) => name.startsWith('floor'))?.[1];
    const medians: Record<string, number> = {};
    (shapeSummary.results as Record<string, unknown>)[size] = {
      runs: Object.fromEntries(runs),
      verify: Object.fromEntries(verify),
      medians,
    };
    if (drill)
      out.push(
        '',
        `restore-drill's checksum algorithms: ${[...new Set(drill.flatMap((r) => r.algorithms ?? []))].join(', ')}`,
      );
    if (verify.size > 0) {
      out.push(
        '',
        '| verification alone (after a restore, tables scanned once) | seconds | rows/s | × count(*) scan, 1 connection |',
        '|---|---:|---:|---:|',
      );
      medians.count1 = median(verify.get(variants[0]!.name)!);
      medians.countN = median(verify.get(variants[1]!.name)!);
      medians.verifyAlone = median(verify.get(variants[2]!.name)!);
      medians.withoutObjects = median(verify.get(WITHOUT_OBJECTS)!);
      medians.withObjects = median(verify.get(WITH_OBJECTS)!);
      medians.beforeIdentity = median(verify.get(BEFORE_IDENTITY)!);
      for (const [name, times] of verify) {
        const s = median(times);
        out.push(
          `| ${name} | ${fmt(s)} | ${Math.round(size / s).toLocaleString('en')} | ${(s / medians.count1).toFixed(2)} |`,
        );
      }
    }
    const ratios: string[] = [];
    if (drill) {
      medians.restoreDrill = med(drill, (r) => r.seconds);
      medians.startup = med(drill, (r) => r.phases.startup);
      medians.verifyPhase = med(drill, (r) => r.phases.verify);
    }
    if (drill && baselineRuns) {
      medians.baseline = med(baselineRuns, (r) => r.seconds);
      const ratio = medians.restoreDrill! / medians.baseline;
      ratios.push(`restore-drill / baseline = ${ratio.toFixed(3)}`);
      if (size === largest) cells[COLUMNS[0]] = { value: ratio.toFixed(3), pass: ratio <= 0.5 };
    }
    if (drill && floorRuns) {
      medians.floor = med(floorRuns, (r) => r.seconds);
      const ratio = medians.restoreDrill! / medians.floor;
      const withoutStartup = (medians.restoreDrill! - medians.startup!) / medians.floor;
      ratios.push(
        `restore-drill / floor = ${ratio.toFixed(3)} (${withoutStartup.toFixed(3)} without the CLI's ${medians.startup!.toFixed(2)} s start-up)`,
      );
      if (size === largest)
        cells[COLUMNS[1]] = {
          value: `${ratio.toFixed(3)} (${withoutStartup.toFixed(3)} w/o start-up)`,
          pass: ratio <= 1.15,
        };
    }
    if (verify.size > 0) {
      const [one, same] = [medians.verifyAlone! / medians.count1!, medians.verifyAlone! / medians.countN!];
      const objects = medians.withObjects! / medians.withoutObjects!;
      ratios.push(
        `verification / count(*) scan = ${one.toFixed(2)} (1 connection), ${same.toFixed(2)} (same connections)`,
      );
      ratios.push(
        `verification with / without object fingerprints = ${objects.toFixed(3)} (${fmt(medians.withObjects!)} / ${fmt(medians.withoutObjects!)})`,
      );
      const growth = medians.withObjects! / medians.beforeIdentity!;
      ratios.push(
        `verification now / before exact jsonb and object fingerprints = ${growth.toFixed(3)} (${fmt(medians.withObjects!)} / ${fmt(medians.beforeIdentity!)})`,
      );
      ratios.push(
        `rows/s verified: ${Math.round(size / medians.verifyAlone!).toLocaleString('en')} alone` +
          (drill
            ? `, ${Math.round(size / medians.verifyPhase!).toLocaleString('en')} in the drill's verify phase`
            : ''),
      );
      if (size === largest) {
        cells[COLUMNS[2]] = { value: `${one.toFixed(2)} (${same.toFixed(2)} same conns)`, pass: one <= 4 };
        cells[COLUMNS[5]] = { value: objects.toFixed(3), pass: objects <= 1.1 };
        cells[COLUMNS[6]] = { value: growth.toFixed(3), pass: growth <= 1.1 };
      }
    }
    if (ratios.length > 0) out.push('', `ratios: ${ratios.join('; ')}`);
  }
  if (sizes.length >= 2 && sizes.every((size) => results.get(keyOf(shape, size))!.runs.has('restore-drill check'))) {
    const small = Math.min(...sizes);
    const drillRuns = (size: number) => results.get(keyOf(shape, size))!.runs.get('restore-drill check')!;
    const time = (size: number) => median(drillRuns(size).map((r) => r.seconds));
    const rss = (size: number) => median(drillRuns(size).map((r) => r.rssKb!));
    const factor = largest / small;
    cells[COLUMNS[3]] = {
      value: `${(time(largest) / time(small)).toFixed(2)}× for ${factor.toFixed(0)}×`,
      pass: time(largest) / time(small) <= 1.1 * factor,
    };
    cells[COLUMNS[4]] = {
      value: `${(rss(small) / 1024).toFixed(0)} → ${(rss(largest) / 1024).toFixed(0)} MiB`,
      pass: rss(largest) <= 1.1 * rss(small),
    };
  }
  shapeSummary.targets = cells;
  overview.push({ shape, cells });
}
out.push(
  '',
  `## Targets per shape (largest size; ${cores} cores, medians of ${repeat})`,
  '',
  `| shape | ${COLUMNS.join(' | ')} |`,
  `|---|${COLUMNS.map(() => '---').join('|')}|`,
);
for (const { shape, cells } of overview) {
  const cell = (column: string) => {
    const measured = cells[column];
    return measured ? `${measured.value} ${measured.pass ? 'PASS' : 'MISS'}` : '—';
  };
  out.push(`| ${shape.name} | ${COLUMNS.map(cell).join(' | ')} |`);
}
const file = join(BENCH_DIR, `results-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
await writeFile(file, `${JSON.stringify(summary, null, 2)}\n`);
process.stdout.write(`${out.join('\n')}\n\n(raw numbers: ${file})\n`);

function usage(problem: string): never {
  process.stderr.write(`npm run bench: ${problem} (shapes: ${BENCH_SHAPES.map((shape) => shape.name).join(', ')})\n`);
  process.exit(2);
}
