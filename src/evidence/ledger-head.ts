import { ConfigError } from '../errors.ts';
import type { LedgerHead } from '../model/ledger-head.ts';

/** One report of a chain, as a verifier sees it. */
export interface LedgerEntry {
  /** The `.report.json` file name. */
  readonly file: string;
  /** The signed position; null for reports written before positions were recorded. */
  readonly position: number | null;
  readonly digest: string;
  readonly drill: string | null;
  readonly finishedAt: string | null;
  /** The signed cadence, e.g. `1mo`; null when the drill declared none. */
  readonly cadence: string | null;
}

/**
 * `POSITION:sha256:<hex>`, the form `--expect-head` takes and every anchor prints.
 *
 * @example
 * formatHead({ position: 17, digest: 'sha256:9f2c…' }); // '17:sha256:9f2c…'
 */
export function formatHead(head: LedgerHead): string {
  return `${head.position}:${head.digest}`;
}

/**
 * Parses `--expect-head POSITION:sha256:<hex>`; a malformed value is a usage error.
 *
 * @example
 * parseHead('17:sha256:9f2c…'); // { position: 17, digest: 'sha256:9f2c…' }
 */
export function parseHead(text: string, what = '--expect-head'): LedgerHead {
  const m = /^\s*(\d+):(sha256:[0-9a-f]{64})\s*$/i.exec(text);
  const position = m ? Number(m[1]) : 0;
  if (!m || !Number.isSafeInteger(position) || position < 1) {
    throw new ConfigError(
      `bad ${what} "${text}"`,
      "write POSITION:sha256:<64 hex digits>, as printed in the job summary, the metrics or the evidence store's head",
    );
  }
  return { position, digest: m[2]!.toLowerCase() };
}

/**
 * The newest entry that has a position, as a head; null for an empty or position-less chain.
 *
 * @example
 * headOf(entries); // { position: 17, digest: 'sha256:…' }
 */
export function headOf(entries: readonly LedgerEntry[]): LedgerHead | null {
  const newest = entries.at(-1);
  return newest && newest.position !== null ? { position: newest.position, digest: newest.digest } : null;
}

/**
 * Compares a chain (oldest first) with the head anchored outside it. Returns one line per problem: the
 * chain ends before the head (reports removed from its end: how many, and since when), or the report at
 * the head's position is not the one anchored (replaced). A chain that grew past the head is fine.
 *
 * @example
 * checkHead(entries, parseHead('17:sha256:…'), 'reports');
 * // ['reports ends at position 15 (…, finished 2026-10-01T03:20:11Z) but its head is position 17: 2 report(s) missing since 2026-10-01T03:20:11Z']
 */
export function checkHead(entries: readonly LedgerEntry[], expected: LedgerHead, where: string): string[] {
  const newest = entries.at(-1);
  if (!newest)
    return [
      `${where} holds no reports, but its head is position ${expected.position}: all ${expected.position} report(s) missing`,
    ];
  if (newest.position === null) {
    return [
      `${where}: the newest report ${newest.file} has no position (written by an older restore-drill), so the head cannot be checked`,
    ];
  }
  if (newest.position < expected.position) {
    const missing = expected.position - newest.position;
    const since = newest.finishedAt ?? 'its time is unknown';
    return [
      `${where} ends at position ${newest.position} (${newest.file}, finished ${since}) but its head is position ${expected.position}: ` +
        `${missing} report(s) missing since ${since} (the newest were removed?)`,
    ];
  }
  const atHead = entries.find((e) => e.position === expected.position);
  // A gap at that position is already a break of the chain itself; only a different file is news here.
  if (atHead && atHead.digest !== expected.digest) {
    return [
      `${where}: position ${expected.position} is ${atHead.file} with digest ${atHead.digest}, not the head's ${expected.digest} (replaced?)`,
    ];
  }
  return [];
}

/**
 * The head a run leaves: the highest position among the reports it wrote (reports of one directory are
 * written one at a time, so that is the newest), or null when it wrote none with a position.
 *
 * @example
 * runHead(run.drills); // { position: 17, digest: 'sha256:…' }
 */
export function runHead(drills: ReadonlyArray<{ readonly ledger?: LedgerHead }>): LedgerHead | null {
  let head: LedgerHead | null = null;
  for (const drill of drills) if (drill.ledger && (!head || drill.ledger.position > head.position)) head = drill.ledger;
  return head;
}

/**
 * The head as a Markdown paragraph for the job summary: anchored there, it outlives the report directory,
 * and an auditor can check a copy of the reports (or the evidence store) against it later.
 *
 * @example
 * renderHeadMarkdown({ position: 17, digest: 'sha256:9f2c…' }, { reportDir: 'reports' });
 */
export function renderHeadMarkdown(
  head: LedgerHead,
  where: { readonly reportDir: string; readonly evidence?: string },
): string {
  const plain = (text: string) => text.replace(/[`\r\n]/g, '');
  const chain = where.evidence ? `--evidence ${plain(where.evidence)}` : `--ledger ${plain(where.reportDir)}`;
  return (
    `Ledger head: position **${head.position}**, \`${head.digest}\`. Check the reports against it: ` +
    `\`restore-drill verify ${chain} --key PUB.pem --expect-head ${formatHead(head)}\`\n\n`
  );
}
