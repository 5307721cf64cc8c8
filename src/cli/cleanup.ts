import type { Command } from 'commander';
import { findLocalLeftovers, removeLocalLeftover } from '../environments/local/leftovers.ts';
import { parseS3Uri } from '../sources/s3/s3-uri.ts';
import { parseDuration } from '../util/duration.ts';
import { EXIT } from './exit-codes.ts';

/** `restore-drill cleanup [--older-than D]`: removes what crashed runs left, and only what carries our label. */
export function registerCleanupCommand(program: Command, setExit: (code: number) => void): Command {
  return program
    .command('cleanup')
    .description("remove environments left by crashed runs (only ones labelled as restore-drill's)")
    .option('--older-than <duration>', 'also remove resources of runs still alive once they are this old, e.g. 12h')
    .option(
      '--rds',
      'also delete expired temporary RDS instances and clusters (only those tagged restore-drill:owner=restore-drill)',
    )
    .option('--region <region...>', 'AWS regions to clean with --rds (default: the configured region)')
    .option(
      '--s3-scratch [uri...]',
      'also delete expired attachment scratch buckets (restore-drill-*, tagged restore-drill:owner=restore-drill) and scratch prefixes under these s3://bucket/prefix/ URIs',
    )
    .action(async (opts: { olderThan?: string; rds?: boolean; region?: string[]; s3Scratch?: true | string[] }) => {
      const olderThanSeconds = opts.olderThan === undefined ? undefined : parseDuration(opts.olderThan, '--older-than');
      // Entries that only look like ours (a symlink, another user's directory, a forged label) are named, not touched.
      const onSkip = (location: string, reason: string) =>
        process.stdout.write(`cleanup: left ${location} alone: ${reason}\n`);
      const leftovers = await findLocalLeftovers({ olderThanSeconds, onSkip });
      let removedLocal = 0;
      for (const leftover of leftovers) {
        try {
          await removeLocalLeftover(leftover);
        } catch (error) {
          // Swapped for something else since it was found: left alone, like any look-alike.
          process.stdout.write(`cleanup: ${(error as Error).message}\n`);
          continue;
        }
        removedLocal++;
        process.stdout.write(
          `removed ${leftover.kind} ${leftover.location} (run ${leftover.label.runId}, drill "${leftover.label.drillName}": ${leftover.reason})\n`,
        );
      }
      // testcontainers and the AWS SDK take a while to load: only the commands that use them load them.
      const { findContainerLeftovers, removeContainerLeftover } =
        await import('../environments/container/container-leftovers.ts');
      const containers = await findContainerLeftovers({ olderThanSeconds });
      for (const leftover of containers.leftovers) {
        await removeContainerLeftover(leftover);
        process.stdout.write(
          `removed container ${leftover.location} (run ${leftover.label.runId}, drill "${leftover.label.drillName}": ${leftover.reason})\n`,
        );
      }
      if (containers.notChecked) process.stdout.write(`cleanup: containers not checked: ${containers.notChecked}\n`);
      const rds = opts.rds
        ? await (
            await import('../environments/rds/rds-leftovers.ts')
          ).cleanupRds({ regions: opts.region, olderThanSeconds, log: (line) => process.stdout.write(`${line}\n`) })
        : { removed: [], failed: [] };
      const scratch = opts.s3Scratch
        ? await cleanupS3Scratch(opts.s3Scratch === true ? [] : opts.s3Scratch, olderThanSeconds)
        : { removed: [], failed: [] };
      const removed = removedLocal + containers.leftovers.length + rds.removed.length + scratch.removed.length;
      process.stdout.write(removed ? `cleanup: removed ${removed} leftover(s)\n` : 'cleanup: nothing left behind\n');
      // A delete AWS refused is the caller's to fix (permissions, deletion protection): exit 2 (usage or configuration), like every error the user must fix.
      setExit(rds.failed.length || scratch.failed.length ? EXIT.usage : EXIT.ok);
    });
}

async function cleanupS3Scratch(uris: readonly string[], olderThanSeconds: number | undefined) {
  const under = uris.map((uri) => {
    const { bucket, key } = parseS3Uri(uri);
    return { bucket, prefix: key };
  });
  const [{ cleanupScratch }, { createS3Client, customEndpoint }, { explainS3Error }] = await Promise.all([
    import('../attachments/scratch-leftovers.ts'),
    import('../aws/s3-client.ts'),
    import('../aws/s3-errors.ts'),
  ]);
  const client = await createS3Client();
  try {
    return await cleanupScratch(client, { under, olderThanSeconds, log: (line) => process.stdout.write(`${line}\n`) });
  } catch (error) {
    throw explainS3Error(error, {
      uri: uris[0] ?? 's3://',
      bucket: under[0]?.bucket ?? '',
      endpoint: customEndpoint(),
    });
  } finally {
    client.destroy();
  }
}
