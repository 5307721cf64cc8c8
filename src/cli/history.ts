import type { Command } from 'commander';
import { ConfigError } from '../errors.ts';
import { renderHistoryText } from '../views/history-text.ts';
import { writeHtmlIndex } from '../views/html/html-pages.ts';
import { loadPublicKey } from '../evidence/signing-key.ts';
import { parseDuration } from '../util/duration.ts';
import {
  evidenceOption,
  graceOption,
  readSourceHistory,
  relabel,
  reportSource,
  type EvidenceFlags,
} from './evidence-options.ts';
import { EXIT } from './exit-codes.ts';

/** `restore-drill history DIR [--key PUB.pem] [--html FILE]`: past runs per drill, with trend and forecast. */
export function registerHistoryCommand(program: Command, setExit: (code: number) => void): Command {
  return program
    .command('history')
    .description('list past runs per drill from a report directory, with restore time, RTO/RPO, trend and forecast')
    .argument('[dir]', "report directory (with --evidence: where to keep a copy of the store's reports)")
    .option('--key <pub.pem>', 'check every signature and the ledger against this public key')
    .option('--html <file>', 'also write the index page (charts, forecast, verification) to this file')
    .addOption(evidenceOption())
    .addOption(graceOption())
    .action(async (dir: string | undefined, opts: { key?: string; html?: string; grace: string } & EvidenceFlags) => {
      const publicKey = opts.key === undefined ? undefined : loadPublicKey(opts.key);
      const graceSeconds = parseDuration(opts.grace, '--grace');
      if (opts.html && dir === undefined) {
        throw new ConfigError(
          '--html needs a report directory',
          "name a DIR (with --evidence, the store's reports are copied there) so the page can link the reports",
        );
      }
      const source = await reportSource(dir, opts);
      const history = await readSourceHistory(source, { publicKey, graceSeconds });
      process.stdout.write(renderHistoryText(relabel(history, source)));
      if (opts.html) {
        try {
          await writeHtmlIndex(history, opts.html, opts.key ? `from ${opts.key}` : undefined);
        } catch (error) {
          throw new ConfigError(
            `cannot write ${opts.html}: ${(error as { code?: string }).code ?? (error as Error).message}`,
            'choose a writable path for --html',
          );
        }
        process.stdout.write(`wrote ${opts.html}\n`);
      }
      setExit(EXIT.ok);
    });
}
