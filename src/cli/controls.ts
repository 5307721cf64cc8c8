import { writeFile } from 'node:fs/promises';
import { Option, type Command } from 'commander';
import { ConfigError } from '../errors.ts';
import { buildControlMatrix, renderControlsJson, renderControlsMarkdown } from '../views/controls.ts';
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

/** `restore-drill controls DIR [--key PUB.pem] [--format markdown|json] [--out FILE]`: the compliance-control matrix. */
export function registerControlsCommand(program: Command, setExit: (code: number) => void): Command {
  return program
    .command('controls')
    .description('aggregate a report directory into a matrix per compliance control (Markdown or JSON)')
    .argument('[dir]', "report directory (with --evidence: where to keep a copy of the store's reports)")
    .option('--key <pub.pem>', 'check every signature and the ledger against this public key')
    .addOption(new Option('--format <format>', 'output format').choices(['markdown', 'json']).default('markdown'))
    .option('--out <file>', 'write to this file instead of standard output')
    .addOption(evidenceOption())
    .addOption(graceOption())
    .action(
      async (
        dir: string | undefined,
        opts: { key?: string; format: 'markdown' | 'json'; out?: string; grace: string } & EvidenceFlags,
      ) => {
        const publicKey = opts.key === undefined ? undefined : loadPublicKey(opts.key);
        const graceSeconds = parseDuration(opts.grace, '--grace');
        const source = await reportSource(dir, opts);
        const history = await readSourceHistory(source, { publicKey, graceSeconds });
        const matrix = buildControlMatrix(relabel(history, source));
        const text = opts.format === 'json' ? renderControlsJson(matrix) : renderControlsMarkdown(matrix);
        if (!opts.out) {
          process.stdout.write(text);
        } else {
          try {
            await writeFile(opts.out, text);
          } catch (error) {
            throw new ConfigError(
              `cannot write ${opts.out}: ${(error as { code?: string }).code ?? (error as Error).message}`,
              'choose a writable path for --out',
            );
          }
          process.stdout.write(
            `wrote ${opts.out}: ${matrix.controls.length} control(s) from ${matrix.reports} report(s)\n`,
          );
        }
        setExit(EXIT.ok);
      },
    );
}
