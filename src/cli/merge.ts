import type { Command } from 'commander';
import { ConfigError } from '../errors.ts';
import { loadPublicKey } from '../evidence/signing-key.ts';
import { basename, join } from 'node:path';
import { mergeShards, readShardDirs, readStoredShards } from '../fleet/merge-shards.ts';
import { parseFleetRun } from '../fleet/shard-spec.ts';
import { writeMergedFleet } from '../fleet/write-merged.ts';
import { checkMetricsPath } from '../views/metrics-export.ts';
import { parseEndpoint } from '../util/endpoint.ts';
import { evidenceOption, type EvidenceFlags } from './evidence-options.ts';
import { metricsFileOption, pushgatewayOption } from './options.ts';
import { EXIT } from './exit-codes.ts';

/**
 * `restore-drill merge SHARD_DIR… [--expect-shards N] [--out DIR] [--key PUB.pem] [--evidence s3://…]`: the
 * shards of a fleet run as one result (see {@link mergeShards} and {@link writeMergedFleet}). Exit 0 only
 * when every expected shard finished and every drill ran and passed.
 */
export function registerMergeCommand(program: Command, setExit: (code: number) => void): Command {
  return program
    .command('merge')
    .description(
      'merge the report directories of `run --shard i/N` into one JUnit, summary, controls matrix, HTML index and metrics',
    )
    .argument(
      '[shard-dirs...]',
      'the --report-dir of every shard (or none, with --evidence and --fleet-run: the shards kept their manifests in the store)',
    )
    .option('--expect-shards <n>', 'the number of shards the matrix ran: a missing one fails the merge')
    .option('--out <dir>', 'where the merged result goes', 'merged')
    .option('--key <pub.pem>', 'check every signature and the ledger against this public key')
    .option(
      '--fleet-run <id>',
      'with --evidence and no directories: the --fleet-run the shards ran with; default $RESTORE_DRILL_FLEET_RUN',
    )
    .addOption(evidenceOption())
    .addOption(metricsFileOption())
    .addOption(pushgatewayOption())
    .action(
      async (
        dirs: string[],
        opts: {
          expectShards?: string;
          out: string;
          key?: string;
          fleetRun?: string;
          metricsFile?: string;
          pushgateway?: string;
        } & EvidenceFlags,
      ) => {
        const expectShards = opts.expectShards === undefined ? undefined : Number(opts.expectShards);
        if (expectShards !== undefined && (!Number.isInteger(expectShards) || expectShards < 1)) {
          throw new ConfigError(
            `bad --expect-shards "${opts.expectShards}"`,
            'pass the number of shards, e.g. --expect-shards 16',
          );
        }
        const publicKey = opts.key === undefined ? undefined : loadPublicKey(opts.key);
        const metricsFile = opts.metricsFile === undefined ? undefined : checkMetricsPath(opts.metricsFile);
        const pushgateway =
          opts.pushgateway === undefined ? undefined : parseEndpoint(opts.pushgateway, '--pushgateway');
        const evidence = opts.evidence ?? (process.env.RESTORE_DRILL_EVIDENCE?.trim() || undefined);
        const fleetRun = parseFleetRun(opts.fleetRun);
        let shards;
        if (dirs.length > 0) {
          shards = await readShardDirs(dirs);
        } else {
          if (!evidence || !fleetRun || expectShards === undefined) {
            throw new ConfigError(
              'no shard directories given',
              'name the --report-dir of every shard, or give --evidence s3://…, --fleet-run ID and --expect-shards N to read them from the store',
            );
          }
          // The shards' reports are the store's: copied beside the merged result, where the shards' records are checked against them.
          const reportsDir = join(opts.out, 'reports');
          const { openEvidenceStore } = await import('../evidence/evidence-store.ts');
          const store = await openEvidenceStore(evidence);
          await store.syncInto(reportsDir).finally(() => store.destroy());
          shards = await readStoredShards(evidence, fleetRun, expectShards, reportsDir);
        }
        const fleet = await mergeShards(shards, { expectShards });
        const verdict = await writeMergedFleet(fleet, {
          out: opts.out,
          publicKey,
          evidence,
          metricsFile,
          pushgateway,
          warn: (line) => process.stderr.write(`${line}\n`),
        });
        const passed = fleet.drills.filter((d) => d.drill.status === 'passed').length;
        process.stdout.write(
          `${fleet.count} shard(s), ${fleet.shards.length} merged${fleet.missing.length ? `, MISSING ${fleet.missing.map((i) => `${i}/${fleet.count}`).join(', ')}` : ''}: ` +
            `${fleet.drills.length + fleet.notRun.length} drill(s): ${passed} passed, ${fleet.drills.length - passed} failed, ${fleet.notRun.length} not run\n`,
        );
        for (const problem of verdict.problems) process.stdout.write(`✗ ${problem}\n`);
        for (const entry of fleet.notRun.slice(0, 20)) process.stdout.write(`✗ ${entry.name} — ${entry.reason}\n`);
        if (fleet.notRun.length > 20)
          process.stdout.write(`… and ${fleet.notRun.length - 20} more not run (see ${opts.out}/summary.md)\n`);
        process.stdout.write(
          `ledger: ${verdict.ledger}\nmerged: ${opts.out}/${verdict.written.map((path) => basename(path)).join(', ')}\n`,
        );
        setExit(verdict.passed ? EXIT.ok : EXIT.failed);
      },
    );
}
