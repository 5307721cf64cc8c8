import type { Command } from 'commander';
import { ConfigError } from '../errors.ts';
import { verifyLedger, verifyReportFile } from '../report/report-verifier.ts';
import { fingerprint, loadPublicKey } from '../report/signing-key.ts';
import { EXIT } from './main.ts';

/** `restore-drill verify FILE… --key PUB.pem [--ledger DIR]`: checks report signatures and the ledger chain. */
export function registerVerifyCommand(program: Command, setExit: (code: number) => void): Command {
  return program
    .command('verify')
    .description('check report signatures (and that the ledger chain of a report directory is unbroken)')
    .argument('[files...]', '.report.json files to check')
    .requiredOption('--key <pub.pem>', 'the public key the reports must be signed with (Ed25519, or ECDSA/RSA exported by `keygen --kms`)')
    .option('--ledger <dir>', 'also check the chain of every report in this directory')
    .action(async (files: string[], opts: { key: string; ledger?: string }) => {
      if (files.length === 0 && !opts.ledger) {
        throw new ConfigError('nothing to verify', 'name one or more .report.json files, or a report directory with --ledger DIR');
      }
      const key = loadPublicKey(opts.key);
      let ok = true;
      for (const file of files) {
        const result = await verifyReportFile(file, key);
        ok &&= result.valid;
        process.stdout.write(
          result.valid
            ? `valid   ${file} — drill "${result.report?.drill.name}" ${result.report?.status} at ${result.report?.finishedAt}${result.report?.signing?.demoKey ? ' (signed with a demo key — not evidence)' : ''}\n`
            : `INVALID ${file} — ${result.reason}\n`,
        );
      }
      if (opts.ledger) {
        const ledger = await verifyLedger(opts.ledger, key);
        ok &&= ledger.valid;
        if (ledger.valid) process.stdout.write(`valid   ledger ${opts.ledger} — chain unbroken\n`);
        for (const problem of ledger.problems) process.stdout.write(`INVALID ledger ${opts.ledger} — ${problem}\n`);
      }
      process.stdout.write(`${ok ? 'all signatures valid' : 'verification FAILED'} (key ${fingerprint(key)})\n`);
      setExit(ok ? EXIT.ok : EXIT.failed);
    });
}
