import { writeFile } from 'node:fs/promises';
import { Option, type Command } from 'commander';
import { ConfigError } from '../errors.ts';
import { buildControlMatrix, renderControlsJson, renderControlsMarkdown } from '../report/controls.ts';
import { loadHistory } from '../report/history.ts';
import { loadPublicKey } from '../report/signing-key.ts';
import { EXIT } from './main.ts';

/** `restore-drill controls DIR [--key PUB.pem] [--format markdown|json] [--out FILE]`: the compliance-control matrix. */
export function registerControlsCommand(program: Command, setExit: (code: number) => void): Command {
  return program
    .command('controls')
    .description('aggregate a report directory into a matrix per compliance control (Markdown or JSON)')
    .argument('<dir>', 'report directory')
    .option('--key <pub.pem>', 'check every signature and the ledger against this public key')
    .addOption(new Option('--format <format>', 'output format').choices(['markdown', 'json']).default('markdown'))
    .option('--out <file>', 'write to this file instead of standard output')
    .action(async (dir: string, opts: { key?: string; format: 'markdown' | 'json'; out?: string }) => {
      const publicKey = opts.key === undefined ? undefined : loadPublicKey(opts.key);
      const history = await loadHistory(dir, { publicKey });
      if (history.files === 0) {
        throw new ConfigError(`no reports in ${dir}`, 'pass the directory the drills wrote their .report.json files to');
      }
      const matrix = buildControlMatrix(history);
      const text = opts.format === 'json' ? renderControlsJson(matrix) : renderControlsMarkdown(matrix);
      if (!opts.out) {
        process.stdout.write(text);
      } else {
        try {
          await writeFile(opts.out, text);
        } catch (error) {
          throw new ConfigError(`cannot write ${opts.out}: ${(error as { code?: string }).code ?? (error as Error).message}`, 'choose a writable path for --out');
        }
        process.stdout.write(`wrote ${opts.out}: ${matrix.controls.length} control(s) from ${matrix.reports} report(s)\n`);
      }
      setExit(EXIT.ok);
    });
}
