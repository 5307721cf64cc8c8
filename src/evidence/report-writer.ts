import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError, RestoreDrillError } from '../errors.ts';
import type { LedgerHead } from '../model/ledger-head.ts';
import type { DrillReport, LedgerFields } from '../model/report.ts';
import { fsReason, writeAtomically } from '../util/atomic-write.ts';
import { withDirectoryLock, type DirectoryLockOptions } from './directory-lock.ts';
import { signEnvelopeWith } from './dsse.ts';
import type { EvidenceStore } from './evidence-store.ts';
import {
  compactUtc,
  compareReportNames,
  fileDigest,
  listReportFiles,
  MARKDOWN_SUFFIX,
  readReportFile,
  REPORT_SUFFIX,
  reportFileTime,
  reportSlug,
} from './report-files.ts';
import { toSigner } from './signer.ts';
import { type Signer } from './signer-interface.ts';
import type { SigningKey } from './signing-key.ts';
import { buildStatement, serializeStatement } from './statement.ts';
import { appendToStore } from './store-append.ts';

/** What {@link writeSignedReport} needs: the finished report (without its ledger fields), where, and the key. */
export interface WriteSignedReportOptions {
  /** The report; `previous`, `position` and `reportFile` are filled in by the writer, under the directory lock. */
  readonly report: Omit<DrillReport, LedgerFields>;
  readonly reportDir: string;
  /** A local Ed25519 key or any {@link Signer} (e.g. an AWS KMS key). */
  readonly key: SigningKey | Signer;
  /** The time in the file name; defaults to now. */
  readonly now?: Date;
  /** One warning line (a report file skipped); default stderr. */
  readonly warn?: (line: string) => void;
  /** Lock timing, for tests; defaults wait 10 s and treat 60 s old locks as stale. */
  readonly lock?: DirectoryLockOptions;
  /**
   * An evidence store: the report is appended to its chain (and the directory first filled with the
   * store's reports), so `previous` and `position` follow the store's head rather than the directory's.
   */
  readonly evidence?: EvidenceStore;
  /**
   * The Markdown view the evidence store keeps beside each report (for readers of the bucket). Passed in,
   * since evidence renders no views itself; without it the store gets an empty `.report.md`.
   */
  readonly renderMarkdown?: (
    report: DrillReport,
    opts: { readonly jsonFile: string; readonly keyid: string },
  ) => string;
}

/** A signed report written to its directory: where, as what, and where it stands in the ledger. */
export interface SignedReport {
  readonly jsonPath: string;
  /** The file name without `.report.json`: views of the report are named after it. */
  readonly base: string;
  /** The report as signed, ledger fields included. */
  readonly report: DrillReport;
  /** `sha256:<hex>` of the previous newest report file, or null when this is the first. */
  readonly previous: string | null;
  /** Its position in the chain and the digest of its file: the new head. */
  readonly head: LedgerHead;
  /**
   * Why the evidence store did not take the report, when it did not: the report was then signed after the
   * directory's own newest report and kept only there. The caller decides when to throw it.
   */
  readonly storeError?: ConfigError;
}

/** While a writer talks to an evidence store it holds the lock for seconds, not milliseconds. */
const STORE_LOCK: DirectoryLockOptions = { timeoutMs: 300_000, staleMs: 600_000 };

/**
 * Signs a report and writes `<UTC time>-<drill slug>.report.json` (the DSSE envelope) under the directory's
 * lock: the evidence, and nothing else. Its `previous` links it to the newest report already there and its
 * `position` counts the chain, making the directory a ledger: deleting, editing, renaming or reordering a
 * report breaks the chain. With an evidence store the report is appended to the store's chain too (see
 * {@link WriteSignedReportOptions.evidence}). Views (Markdown, HTML) are rendered from it afterwards, outside
 * the lock: see `writeReport` in `drill/report-writer.ts`.
 *
 * @example
 * const { jsonPath, head } = await writeSignedReport({ report, reportDir: 'reports', key });
 */
export async function writeSignedReport(options: WriteSignedReportOptions): Promise<SignedReport> {
  const { reportDir: dir, key, evidence } = options;
  const warn = options.warn ?? ((line: string) => process.stderr.write(`${line}\n`));
  try {
    await mkdir(dir, { recursive: true });
    return await withDirectoryLock(
      dir,
      async () => {
        // Signs the report as the next one after `tip`: the name, position and previous all follow from it.
        const signAfter = async (tip: { position: number; digest: string; file: string } | null) => {
          const newestHere = (await listReportFiles(dir)).at(-1);
          const newest = [tip?.file, newestHere]
            .filter((n): n is string => n !== undefined)
            .sort(compareReportNames)
            .at(-1);
          const base = chooseBaseName(dir, reportSlug(options.report.drill.name), options.now ?? new Date(), newest);
          const jsonFile = `${base}${REPORT_SUFFIX}`;
          const position = (tip?.position ?? 0) + 1;
          // Set from the key that signs, not by the caller: a demo-key report cannot claim otherwise.
          const report: DrillReport = {
            ...options.report,
            signing: { demoKey: toSigner(key).demo === true },
            previous: tip?.digest ?? null,
            position,
            reportFile: jsonFile,
          };
          const envelope = await signEnvelopeWith(serializeStatement(buildStatement(report)), toSigner(key));
          const bytes = Buffer.from(`${JSON.stringify(envelope, null, 2)}\n`, 'utf8');
          return {
            report,
            base,
            bytes,
            markdown: options.renderMarkdown?.(report, { jsonFile, keyid: key.keyid }) ?? '',
            file: jsonFile,
            position,
            digest: fileDigest(bytes),
            drill: report.drill.name,
            finishedAt: report.finishedAt,
          };
        };
        type Signed = Awaited<ReturnType<typeof signAfter>>;
        const kept = async (signed: Signed, storeError?: ConfigError): Promise<SignedReport> => {
          const jsonPath = join(dir, signed.file);
          await writeAtomically(jsonPath, signed.bytes);
          return {
            jsonPath,
            base: signed.base,
            report: signed.report,
            previous: signed.report.previous,
            head: { position: signed.position, digest: signed.digest },
            ...(storeError ? { storeError } : {}),
          };
        };
        if (!evidence) return kept(await signAfter(await localTip(dir, warn)));
        let exclusive = true;
        let last: Signed | undefined;
        try {
          return await kept(
            await appendToStore(evidence, async (tip) => {
              // A report signed for a position another writer took is never kept.
              last = undefined;
              // The store's reports first, so the directory holds the chain the new report extends.
              await evidence.syncInto(dir, { exclusive });
              exclusive = false;
              return (last = await signAfter(tip));
            }),
          );
        } catch (error) {
          // A drill may have run for hours: its signed report is kept even when the store cannot take it.
          // Failed before anything was signed (the store could not be read): sign after the directory's
          // own newest report instead, so the run's evidence exists somewhere.
          last ??= await signAfter(await localTip(dir, warn));
          const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
          return kept(
            last,
            new ConfigError(
              `${message}; the signed report was kept in ${join(dir, last.file)} but is not in the evidence store`,
              error instanceof RestoreDrillError ? error.hint : 'check the store and its permissions, then run again',
            ),
          );
        }
      },
      options.lock ?? (evidence ? STORE_LOCK : undefined),
    );
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (error instanceof RestoreDrillError || typeof code !== 'string' || !/^E[A-Z]+$/.test(code)) throw error;
    throw new ConfigError(
      `report directory ${dir} is not writable: ${fsReason(error as Error, code)}`,
      'pass --report-dir with a writable directory, or fix its permissions',
    );
  }
}

/**
 * The newest report of a directory as the tip of its chain. A report written before positions were
 * recorded counts as the position of its place in the directory.
 */
async function localTip(
  dir: string,
  warn: (line: string) => void,
): Promise<{ position: number; digest: string; file: string } | null> {
  const names = await listReportFiles(dir);
  // The newest report that can be read: one that cannot (larger than any report, or replaced by something
  // that is not a file since it was listed) is skipped with a warning, so the drill still writes its report;
  // `verify --ledger` then names the skipped file where the chain breaks.
  for (const [index, name] of [...names.entries()].reverse()) {
    const read = await readReportFile(join(dir, name));
    if ('bytes' in read)
      return { position: signedPosition(read.bytes) ?? index + 1, digest: fileDigest(read.bytes), file: name };
    warn(`restore-drill: warning: ${join(dir, name)} ${read.reason}; the new report does not link to it`);
  }
  return null;
}

/** The position a report file claims (read without checking the signature: the writer only extends it). */
function signedPosition(bytes: Buffer): number | null {
  try {
    const envelope = JSON.parse(bytes.toString('utf8')) as { payload?: unknown };
    const statement =
      typeof envelope.payload === 'string'
        ? (JSON.parse(Buffer.from(envelope.payload, 'base64').toString('utf8')) as {
            predicate?: { position?: unknown };
          } | null)
        : undefined;
    const position = statement?.predicate?.position;
    return typeof position === 'number' && Number.isSafeInteger(position) && position > 0 ? position : null;
  } catch {
    return null;
  }
}

/**
 * A file name that is new and sorts after the newest report, so name order stays ledger order even when
 * two drills finish in the same second or the clock steps back. At most two time stamps are tried: now (or
 * the newest report's second, when that is later), then the second after it, which always sorts after.
 */
function chooseBaseName(dir: string, slug: string, now: Date, newest: string | undefined): string {
  const newestTime = newest ? reportFileTime(newest) : null;
  const first = newestTime && newestTime > now ? newestTime : now;
  for (const time of [first, new Date(Math.floor(first.getTime() / 1000) * 1000 + 1000)]) {
    const stamp = compactUtc(time);
    let base = `${stamp}-${slug}`;
    for (let n = 2; existsSync(join(dir, base + REPORT_SUFFIX)) || existsSync(join(dir, base + MARKDOWN_SUFFIX)); n++) {
      base = `${stamp}-${slug}-${n}`;
    }
    if (!newest || compareReportNames(base + REPORT_SUFFIX, newest) > 0) return base;
  }
  // Only a newest report stamped in the last second of year 9999 gets here.
  throw new RestoreDrillError(
    `report directory ${dir}: no report name sorts after ${newest}`,
    'move the report files dated in the far future out of the report directory',
  );
}
