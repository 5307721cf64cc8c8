import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { ConfigError } from '../errors.ts';
import { defaultKeyDir } from '../drill/drill-settings.ts';
import { signalExitCode } from '../drill/interrupt.ts';
import { resolveSigner } from '../evidence/signer.ts';
import { argvSecretWarnings, warnAboutArgvSecrets } from './argv-secrets.ts';
import { parseCiFlags, writeCiOutputs, type CiFlags } from './ci-outputs.ts';
import { prepareDrillEvidence, type EvidenceFlags } from './evidence-options.ts';
import { withInstanceLimit, type InstanceLimitFlags } from './instance-limit-options.ts';
import { addDrillRunOptions } from './drill-run-options.ts';
import { createProgressDisplay } from './progress.ts';
import { DrillSummaryReporter } from './summary-reporter.ts';
import { formatShard, parseFleetRun, parseShard } from '../fleet/shard-spec.ts';
import { loadShardTimings } from '../fleet/shard-timings.ts';
import { selectByTags } from '../fleet/drill-tags.ts';
import { listFiles } from '../util/list-files.ts';

const CONFIG_FILES = ['vitest.config.ts', 'vitest.config.mts', 'vitest.config.js', 'vitest.config.mjs'];

/**
 * How drill files run without a Vitest config (and what `init` writes into one): no time limit per test, ten
 * minutes per hook, each worker a child process. `isolate: false` lets a worker run several drill files in
 * turn with restore-drill imported once — about 2 s of CPU less per file (docs/performance.md), which a fleet
 * of policy-only drills is mostly made of. A drill's disposable database is per drill whatever the worker;
 * only module state is shared, and restore-drill keeps none between drills. `run --isolate` gives every file
 * a fresh process again.
 */
const DRILL_DEFAULTS = { testTimeout: 0, hookTimeout: 600_000, pool: 'forks', isolate: false } as const;

/**
 * Vitest's module cache on disk, in the git-ignored `.restore-drill/` folder (or `$RESTORE_DRILL_HOME`): a
 * `run` after the first loads the drill files and restore-drill's sources as Vitest transformed them last time
 * instead of transforming them again (a `run` of one policy-only drill: 4.5–5.4 s of CPU → 2.7–3.4 s). An entry is
 * keyed by the file's content, Vitest's version and the config, and the whole cache is dropped when the lockfile
 * changes, so an edited drill or source is never run from a stale copy.
 */
function moduleCache() {
  const path = join(dirname(defaultKeyDir()), 'vitest-modules');
  return { experimental: { fsModuleCache: true, fsModuleCachePath: path } };
}

/**
 * `restore-drill run [FILES…]`: runs drill specs with Vitest. With a Vitest config that has a `drills`
 * project, that project is used (its globalSetup, timeouts); otherwise `drills/**\/*.drill.ts`.
 */
export function registerRunCommand(program: Command, setExit: (code: number) => void): Command {
  return addDrillRunOptions(program.command('run'))
    .description('run drill specs (default: drills/)')
    .argument('[files...]', 'drill files or name filters')
    .option(
      '--shard <i/N>',
      'run shard i of N (from 1): drill files are split by the times of the last merged run (see docs/fleet.md)',
    )
    .option(
      '--timings <file>',
      "with --shard: balance by this timings.json (merge's output); default the evidence store's, else by file count",
    )
    .option(
      '--tag <tag...>',
      "run only the drill files that carry one of these tags (the inventory's tags, in each generated file's header)",
    )
    .option(
      '--isolate',
      'give every drill file a fresh worker process (default: a worker runs several files in turn, importing restore-drill once)',
    )
    .option(
      '--fleet-run <id>',
      'with --shard and --evidence: the id shared by the shards of one run (e.g. the CI run id), so merge can read them from the store; default $RESTORE_DRILL_FLEET_RUN',
    )
    .action(
      async (
        files: string[],
        opts: {
          reportDir: string;
          signingKey?: string;
          cadence?: string;
          verifyBudget?: string;
          shard?: string;
          timings?: string;
          fleetRun?: string;
          tag?: string[];
          isolate?: boolean;
        } & InstanceLimitFlags &
          CiFlags &
          EvidenceFlags,
      ) => {
        const shardSpec = opts.shard === undefined ? undefined : parseShard(opts.shard);
        const fleetRun = parseFleetRun(opts.fleetRun);
        for (const file of files) {
          if (/\.drill\.ts$/.test(file) && !existsSync(file)) {
            throw new ConfigError(`drill file not found: ${file}`, 'check the path; drill files are named *.drill.ts');
          }
        }
        if (opts.tag) files = await filesWithTags(files, opts.tag);
        warnAboutArgvSecrets([argvSecretWarnings.notify(opts.notify), argvSecretWarnings.signingKey(opts.signingKey)]);
        const ciTargets = parseCiFlags(opts);
        // Resolve the key once here, so a missing key fails before any drill starts and the demo key is
        // created (and announced) once, not by every worker.
        const key = await resolveSigner({
          flag: opts.signingKey,
          env: process.env.RESTORE_DRILL_SIGNING_KEY,
          defaultDir: defaultKeyDir(),
          log: (line) => process.stderr.write(`restore-drill: ${line}\n`),
        });
        // The store is checked and the report directory filled from it before any drill starts.
        const { uri: evidence, settings: evidenceSettings } = await prepareDrillEvidence(opts, opts.reportDir);
        // A shard: Vitest's --shard with restore-drill's plan (fleet/shard-run.ts), recorded in shard.json for merge.
        const shard =
          shardSpec &&
          (await import('../fleet/shard-run.ts')).shardRun(shardSpec, {
            reportDir: opts.reportDir,
            evidence,
            fleetRun,
            timings: await loadShardTimings({ timingsFile: opts.timings, evidence }),
          });
        const sharding = shard
          ? { shard: formatShard(shardSpec), passWithNoTests: true, sequence: { sequencer: shard.sequencer } }
          : {};
        // --isolate overrides the config's choice; without it the config (or DRILL_DEFAULTS) decides.
        const isolation = opts.isolate ? { isolate: true } : {};
        // On a terminal, drills in the workers send progress lines that become bars here; in CI logs the
        // workers' plain lines pass through unchanged.
        const display = createProgressDisplay();
        // What every drill gets, as values: the workers read them with Vitest's `inject`, not from the environment.
        // A bad limit, or one with nowhere every shard can see, stops the run before any drill starts.
        const { settings } = withInstanceLimit(
          {
            reportDir: resolve(opts.reportDir),
            signingKey: key.source,
            ...evidenceSettings,
            ...(display.tty ? { progressLines: true } : {}),
          },
          opts,
        );
        const reporter = new DrillSummaryReporter(
          (text) => display.print(text),
          (name, outcome) => display.finish(name, outcome),
        );
        const reporters = shard
          ? [reporter, shard.reporter, ['blob', { outputFile: shard.blobFile }] as ['blob', { outputFile: string }]]
          : [reporter];
        let hasConfig = CONFIG_FILES.some((f) => existsSync(f));
        // Loaded here, not at the top: Vitest's node API takes seconds to import and only `run` needs it.
        const { createVitest } = await import('vitest/node');
        const named = files.filter((f) => /\.drill\.ts$/.test(f));
        const start = (withConfig: boolean) =>
          createVitest(
            'test',
            withConfig
              ? { watch: false, project: ['drills'], reporters, ...sharding, ...isolation, ...moduleCache() }
              : // Files named on the command line run wherever they are, not only under drills/.
                {
                  watch: false,
                  config: false,
                  ...DRILL_DEFAULTS,
                  include: ['drills/**/*.drill.ts', ...named],
                  reporters,
                  ...sharding,
                  ...isolation,
                  ...moduleCache(),
                },
            {},
            { stderr: display.workerStderr },
          ).catch((error: unknown) => {
            display.stop();
            throw error;
          });
        let vitest = await start(hasConfig);
        // A drill file named on the command line that the config's drills project does not include would be
        // refused as "no test files": run the named files with the drills defaults instead, and say so.
        const project = vitest.projects.find((p) => p.name === 'drills');
        const outside = hasConfig && project ? named.filter((f) => !project.matchesTestGlob(resolve(f))) : [];
        if (outside.length > 0) {
          process.stderr.write(
            `restore-drill: ${outside.join(', ')} ${outside.length === 1 ? 'is' : 'are'} outside the drills project of the Vitest config; running the named files with restore-drill's drill defaults\n`,
          );
          await vitest.close();
          hasConfig = false;
          vitest = await start(false);
        }
        vitest.provide('restoreDrill', settings);
        // Ctrl-C / SIGTERM: cancel the run so each running drill writes its `error` report and tears down.
        // Vitest's own handler would exit at once, so it is replaced. A second signal exits at once (the
        // environments' watchdogs still remove what was created).
        for (const name of ['SIGINT', 'SIGTERM'] as const) process.removeAllListeners(name);
        let cancelledBy: NodeJS.Signals | null = null;
        const onSignal = (signal: NodeJS.Signals) => {
          if (cancelledBy) process.exit(signalExitCode(signal));
          cancelledBy = signal;
          process.stderr.write(`restore-drill: ${signal} received, stopping the drills and writing their reports…\n`);
          void vitest.cancelCurrentRun('keyboard-input');
        };
        process.on('SIGINT', onSignal);
        process.on('SIGTERM', onSignal);
        try {
          await vitest.start(files);
        } catch (error) {
          // Vitest throws when a filter or the include pattern matches no file.
          if (/No test files found/i.test((error as Error).message)) throw noDrillFiles(files, hasConfig);
          throw error;
        } finally {
          await vitest.close();
          display.stop();
          process.off('SIGINT', onSignal);
          process.off('SIGTERM', onSignal);
        }
        const found = vitest.state.getFiles().length;
        if (found > 0 || shard) {
          const run = { drills: reporter.drills, notRun: reporter.notRun, skipped: reporter.skipped };
          const { junitPath, summaryPath } = await writeCiOutputs(run, {
            reportDir: opts.reportDir,
            evidence,
            ...ciTargets,
            warn: (line) => process.stderr.write(`${line}\n`),
          });
          process.stdout.write(`junit: ${junitPath}  summary: ${summaryPath}\n`);
        }
        if (cancelledBy) {
          setExit(signalExitCode(cancelledBy));
          return;
        }
        if (found === 0 && !shard) throw noDrillFiles(files, hasConfig);
        setExit(reporter.exitCode());
      },
    );
}

/**
 * `--tag`: the drill files named (or, naming none, every `drills/**\/*.drill.ts`) that carry one of the tags.
 * Name filters that are not files are refused with it: which files run must be plain.
 */
async function filesWithTags(files: string[], tags: string[]): Promise<string[]> {
  const other = files.filter((f) => !/\.drill\.ts$/.test(f));
  if (other.length > 0)
    throw new ConfigError(
      `--tag selects drill files; ${other.join(' ')} is not one`,
      'name *.drill.ts files with --tag, or leave --tag out to filter by name',
    );
  const candidates =
    files.length > 0
      ? files
      : existsSync('drills')
        ? (await listFiles('drills')).filter((f) => f.endsWith('.drill.ts')).sort()
        : [];
  if (candidates.length === 0) throw noDrillFiles(files, false);
  return selectByTags(candidates, tags);
}

function noDrillFiles(files: readonly string[], hasConfig: boolean): ConfigError {
  if (files.length === 0)
    return new ConfigError('no drill files found', 'put drills in drills/*.drill.ts or name the files to run');
  return new ConfigError(
    `no drill files found for ${files.join(' ')}`,
    hasConfig
      ? 'with a vitest.config.ts, drills run in its "drills" project: name files its include pattern matches (e.g. drills/**/*.drill.ts)'
      : 'name *.drill.ts files, or folders under drills/',
  );
}
