import type { Command } from 'commander';
import { ConfigError } from '../errors.ts';
import { checkHead, formatHead, parseHead, type LedgerEntry } from '../evidence/ledger-head.ts';
import { type LedgerHead } from '../model/ledger-head.ts';
import { describeStale, findStaleDrills } from '../evidence/staleness.ts';
import { verifyLedger, verifyReportFile } from '../evidence/report-verifier.ts';
import { fingerprint, loadPublicKey } from '../evidence/signing-key.ts';
import { parseDuration } from '../util/duration.ts';
import { evidenceOption, graceOption, openConfiguredStore } from './evidence-options.ts';
import { EXIT } from './exit-codes.ts';

interface VerifyOptions {
  readonly key: string;
  readonly ledger?: string;
  readonly evidence?: string;
  readonly expectHead?: string;
  readonly grace: string;
}

/**
 * `restore-drill verify FILE… --key PUB.pem [--ledger DIR] [--evidence s3://…] [--expect-head POS:DIGEST]`:
 * checks report signatures, the ledger chain (against a head kept elsewhere), and that no drill is stale.
 */
export function registerVerifyCommand(program: Command, setExit: (code: number) => void): Command {
  return program
    .command('verify')
    .description(
      'check report signatures, that the ledger chain of a report directory or evidence store is unbroken and complete, and that no drill is stale',
    )
    .argument('[files...]', '.report.json files to check')
    .requiredOption(
      '--key <pub.pem>',
      'the public key the reports must be signed with (Ed25519, or ECDSA/RSA exported by `keygen --kms`)',
    )
    .option('--ledger <dir>', 'also check the chain of every report in this directory')
    .addOption(evidenceOption())
    .option(
      '--expect-head <position:digest>',
      "the ledger head kept outside the reports (job summary, metrics, the store's head): fail when the chain is shorter or differs",
    )
    .addOption(graceOption())
    .action(async (files: string[], opts: VerifyOptions) => {
      const expectHead = opts.expectHead === undefined ? undefined : parseHead(opts.expectHead);
      const graceSeconds = parseDuration(opts.grace, '--grace');
      const store = await openConfiguredStore(opts);
      if (files.length === 0 && !opts.ledger && !store) {
        throw new ConfigError(
          'nothing to verify',
          'name one or more .report.json files, a report directory with --ledger DIR, or a store with --evidence s3://…',
        );
      }
      if (expectHead && !opts.ledger && !store) {
        throw new ConfigError(
          '--expect-head needs a chain to check',
          'add --ledger DIR or --evidence s3://BUCKET/PREFIX',
        );
      }
      const key = loadPublicKey(opts.key);
      const out = (line: string) => process.stdout.write(`${line}\n`);
      let ok = true;
      try {
        for (const file of files) {
          const result = await verifyReportFile(file, key);
          ok &&= result.valid;
          out(
            result.valid
              ? `valid   ${file} — drill "${result.report?.drill.name}" ${result.report?.status} at ${result.report?.finishedAt}${result.report?.signing?.demoKey ? ' (signed with a demo key — not evidence)' : ''}`
              : `INVALID ${file} — ${result.reason}`,
          );
        }
        if (opts.ledger) {
          const ledger = await verifyLedger(opts.ledger, key);
          const problems = [
            ...ledger.problems,
            ...(expectHead ? checkHead(ledger.entries, expectHead, opts.ledger) : []),
          ];
          ok &&= problems.length === 0;
          if (problems.length === 0) out(`valid   ledger ${opts.ledger} — chain unbroken`);
          const note = headNote(ledger.entries, expectHead);
          if (problems.length === 0 && note) out(note);
          for (const problem of problems) out(`INVALID ledger ${opts.ledger} — ${problem}`);
          ok = reportStale(ledger.entries, graceSeconds, out) && ok;
        }
        if (store) {
          const { verifyStore } = await import('../evidence/store-verifier.ts');
          const verdict = await verifyStore(store, key, { expectHead });
          ok &&= verdict.valid;
          const against = verdict.checkedAgainst
            ? ` (head ${formatHead(verdict.checkedAgainst)}${expectHead ? ', as expected' : ", the store's own"})`
            : '';
          if (verdict.valid)
            out(`valid   evidence ${store.uri} — ${verdict.entries.length} report(s), chain unbroken${against}`);
          for (const problem of verdict.problems) out(`INVALID evidence ${problem}`);
          for (const { file, retention } of verdict.retention) {
            out(
              retention
                ? `locked  ${file} — under ${retention.mode} retention until ${retention.retainUntil}`
                : `unlocked ${file} — no Object Lock retention: it can be deleted`,
            );
          }
          ok = reportStale(verdict.entries, graceSeconds, out) && ok;
        }
      } finally {
        store?.destroy();
      }
      out(`${ok ? 'all signatures valid' : 'verification FAILED'} (key ${fingerprint(key)})`);
      setExit(ok ? EXIT.ok : EXIT.failed);
    });
}

function headNote(entries: readonly LedgerEntry[], expected: LedgerHead | undefined): string | null {
  const newest = entries.at(-1);
  if (!newest || newest.position === null) return null;
  const head = `${newest.position}:${newest.digest}`;
  return expected
    ? `head    ${head} — reaches the expected head ${formatHead(expected)}`
    : `head    ${head} — pass --expect-head with the head kept elsewhere to check nothing was removed from the end`;
}

/** Prints a line per stale drill; false when there is one. */
function reportStale(entries: readonly LedgerEntry[], graceSeconds: number, out: (line: string) => void): boolean {
  const reports = entries.flatMap((e) =>
    e.drill === null ? [] : [{ drill: e.drill, finishedAt: e.finishedAt, cadence: e.cadence, file: e.file }],
  );
  const { stale, undeclared } = findStaleDrills(reports, { now: new Date(), graceSeconds });
  for (const s of stale) out(`STALE   ${describeStale(s, graceSeconds)}`);
  if (undeclared.length > 0)
    out(
      `note    ${undeclared.length} drill(s) declare no cadence, so staleness is not checked: ${undeclared.join(', ')}`,
    );
  return stale.length === 0;
}
