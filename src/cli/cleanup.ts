import type { Command } from 'commander';
import { findLocalLeftovers, removeLocalLeftover } from '../environments/leftovers.ts';
import { parseDuration } from '../util/duration.ts';
import { EXIT } from './main.ts';

/** `restore-drill cleanup [--older-than D]`: removes what crashed runs left, and only what carries our label. */
export function registerCleanupCommand(program: Command, setExit: (code: number) => void): Command {
  return program
    .command('cleanup')
    .description("remove environments left by crashed runs (only ones labelled as restore-drill's)")
    .option('--older-than <duration>', 'also remove resources of runs still alive once they are this old, e.g. 12h')
    .action(async (opts: { olderThan?: string }) => {
      const olderThanSeconds = opts.olderThan === undefined ? undefined : parseDuration(opts.olderThan, '--older-than');
      const leftovers = await findLocalLeftovers({ olderThanSeconds });
      for (const leftover of leftovers) {
        await removeLocalLeftover(leftover);
        process.stdout.write(`removed ${leftover.kind} ${leftover.location} (run ${leftover.label.runId}, drill "${leftover.label.drillName}": ${leftover.reason})\n`);
      }
      process.stdout.write(leftovers.length ? `cleanup: removed ${leftovers.length} leftover(s)\n` : 'cleanup: nothing left behind\n');
      setExit(EXIT.ok);
    });
}
