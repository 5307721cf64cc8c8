import type { KeyObject } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { verifyLedger } from './report-verifier.ts';
import type { EvidenceStore, Retention } from './evidence-store.ts';
import { checkHead, type LedgerEntry } from './ledger-head.ts';
import { type LedgerHead } from '../model/ledger-head.ts';

/** The verdict on an evidence store. */
export interface StoreVerification {
  readonly valid: boolean;
  /** One line per problem, each naming the position or report it concerns. */
  readonly problems: string[];
  /** Every stored report in chain order (for the staleness check). */
  readonly entries: LedgerEntry[];
  /** What `head.json` says, or null when the store has none. */
  readonly head: LedgerHead | null;
  /** The head the chain was checked against: `--expect-head`, else the store's own. */
  readonly checkedAgainst: LedgerHead | null;
  /** Per stored report, its Object Lock retention (null: none). */
  readonly retention: { readonly file: string; readonly retention: Retention | null }[];
}

/**
 * Checks an evidence store as an auditor would: every stored report's signature and chain (as for a
 * report directory), that the `ledger/` positions run 1…N without a gap and each names a report that is
 * there with the digest it recorded, that no report sits outside the ledger, and that the chain reaches
 * the head — the store's `head.json`, or `expectHead` when the auditor holds one from elsewhere (which
 * also catches a store whose head was rewritten). Also reads each report's Object Lock retention.
 *
 * @example
 * const verdict = await verifyStore(store, publicKey, { expectHead: parseHead('17:sha256:…') });
 */
export async function verifyStore(
  store: EvidenceStore,
  publicKey: KeyObject,
  options: { expectHead?: LedgerHead } = {},
): Promise<StoreVerification> {
  const dir = await mkdtemp(join(tmpdir(), 'restore-drill-evidence-'));
  try {
    const [ledger, head] = await Promise.all([store.ledger(), store.head()]);
    await store.syncInto(dir);
    const chain = await verifyLedger(dir, publicKey);
    // The copy is a temporary directory: name the store instead.
    const problems = chain.problems.map((p) => `${store.uri}reports/${p.replaceAll(dir, `${store.uri}reports`)}`);
    const byFile = new Map(chain.entries.map((e) => [e.file, e]));

    ledger.forEach((entry, i) => {
      const expected = i === 0 ? 1 : ledger[i - 1]!.position + 1;
      if (entry.position !== expected) {
        problems.push(
          `${store.uri}ledger: positions ${expected}…${entry.position - 1} are missing (${entry.position - expected} ledger entr${entry.position - expected === 1 ? 'y' : 'ies'} deleted?)`,
        );
      }
      const report = byFile.get(entry.file);
      if (!report) {
        problems.push(
          `${store.uri}ledger: position ${entry.position} is ${entry.file}, which is not in the store (deleted?)`,
        );
      } else if (report.digest !== entry.digest) {
        problems.push(
          `${store.uri}ledger: position ${entry.position} recorded ${entry.file} with digest ${entry.digest}, but the stored file has ${report.digest} (replaced?)`,
        );
      }
    });
    const listed = new Set(ledger.map((e) => e.file));
    for (const entry of chain.entries) {
      if (!listed.has(entry.file))
        problems.push(
          `${store.uri}reports/${entry.file}: is not in the store's ledger (written by something other than restore-drill?)`,
        );
    }
    const tip = ledger.at(-1);
    if (head && tip && head.position > tip.position) {
      problems.push(
        `${store.uri}head.json is position ${head.position}, but the ledger ends at position ${tip.position}: its newest entries were deleted`,
      );
    }
    if (!head && tip) problems.push(`${store.uri}head.json is missing (the ledger has ${tip.position} position(s))`);
    // The store's own head can only show cuts it survived; a head kept elsewhere also shows a rewritten one.
    const anchor = options.expectHead ?? head ?? (tip ? { position: tip.position, digest: tip.digest } : null);
    if (anchor) problems.push(...checkHead(chain.entries, anchor, store.uri));
    // An empty store proves nothing: it must not read as an all-clear.
    else problems.push(`${store.uri} holds no reports and no ledger (wrong prefix, or everything was deleted?)`);

    const retention = [];
    for (const entry of chain.entries)
      retention.push({ file: entry.file, retention: await store.retention(entry.file) });
    return {
      valid: problems.length === 0,
      problems,
      entries: chain.entries,
      head: head ? { position: head.position, digest: head.digest } : null,
      checkedAgainst: anchor,
      retention,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
