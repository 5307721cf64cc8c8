import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ConfigError, RestoreDrillError } from '../errors.ts';
import { withDirectoryLock, type DirectoryLockOptions } from './directory-lock.ts';
import { signEnvelopeWith } from './dsse.ts';
import { htmlFileFor, writeHtmlPages } from './html/html-pages.ts';
import { renderMarkdown as defaultRenderMarkdown, type MarkdownOptions } from './markdown.ts';
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
import type { DrillReport } from './report-model.ts';
import type { SigningKey } from './signing-key.ts';
import { toSigner, type Signer } from './signer.ts';
import { buildStatement, serializeStatement } from './statement.ts';

/** What {@link writeReport} needs: the finished report (without its ledger link), where, and the key. */
export interface WriteReportOptions {
  /** The report; `previous` is filled in by the writer, under the directory lock. */
  readonly report: Omit<DrillReport, 'previous'>;
  readonly reportDir: string;
  /** A local Ed25519 key or any {@link Signer} (e.g. an AWS KMS key). */
  readonly key: SigningKey | Signer;
  /** Renders the human `.report.md`; defaults to {@link defaultRenderMarkdown}. */
  readonly renderMarkdown?: (report: DrillReport, opts: MarkdownOptions) => string;
  /** The time in the file name; defaults to now. */
  readonly now?: Date;
  /** One warning line (a report file skipped, a view that could not be written); default stderr. */
  readonly warn?: (line: string) => void;
  /** Lock timing, for tests; defaults wait 10 s and treat 60 s old locks as stale. */
  readonly lock?: DirectoryLockOptions;
}

/** Where a report was written and which report it follows in the ledger. */
export interface WrittenReport {
  readonly jsonPath: string;
  readonly markdownPath: string;
  /** The run's HTML page beside it; `index.html` of the directory is rewritten too. */
  readonly htmlPath: string;
  /** `sha256:<hex>` of the previous newest report file, or null when this is the first. */
  readonly previous: string | null;
}

/**
 * Signs a report and writes `<UTC time>-<drill slug>.report.json` (the DSSE envelope), `.report.md` and
 * `.report.html` beside it, and rewrites the directory's `index.html`. The report's `previous` links it to
 * the newest report already there, making the directory a ledger: deleting, editing or reordering a report
 * breaks the chain.
 *
 * @example
 * const { jsonPath } = await writeReport({ report, reportDir: 'reports', key });
 */
export async function writeReport(options: WriteReportOptions): Promise<WrittenReport> {
  const { reportDir: dir, key } = options;
  const render = options.renderMarkdown ?? defaultRenderMarkdown;
  const warn = options.warn ?? ((line: string) => process.stderr.write(`${line}\n`));
  try {
    await mkdir(dir, { recursive: true });
    return await withDirectoryLock(
      dir,
      async () => {
        const names = await listReportFiles(dir);
        const newest = names.at(-1);
        const previous = await previousDigest(dir, names, warn);
        const report: DrillReport = { ...options.report, previous };
        const envelope = await signEnvelopeWith(serializeStatement(buildStatement(report)), toSigner(key));

        const base = chooseBaseName(dir, reportSlug(report.drill.name), options.now ?? new Date(), newest);
        const jsonFile = `${base}${REPORT_SUFFIX}`;
        const jsonPath = join(dir, jsonFile);
        const markdownPath = join(dir, `${base}${MARKDOWN_SUFFIX}`);
        await writeAtomically(jsonPath, `${JSON.stringify(envelope, null, 2)}\n`);
        // The signed JSON is the record. Once it is written, a view that cannot be (a disk that just
        // filled up) is a warning: the drill's outcome and exit code stand, and the views can be rebuilt.
        let htmlPath = join(dir, htmlFileFor(jsonFile));
        try {
          await writeAtomically(markdownPath, render(report, { jsonFile, keyid: key.keyid }));
          ({ htmlPath } = await writeHtmlPages({ dir, jsonFile, publicKey: key.publicKey, write: writeAtomically }));
        } catch (error) {
          const code = (error as { code?: unknown }).code;
          const reason = typeof code === 'string' ? fsReason(error as Error, code) : (error as Error).message.split('\n')[0];
          warn(`restore-drill: warning: the signed report ${jsonPath} was written, its Markdown/HTML views were not: ${reason}`);
        }
        return { jsonPath, markdownPath, htmlPath, previous };
      },
      options.lock,
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

/**
 * The ledger link: the digest of the newest report that can be read. One that cannot (larger than any
 * report, or replaced by something that is not a file since it was listed) is skipped with a warning, so the
 * drill still writes its report; `verify --ledger` then names the skipped file where the chain breaks.
 */
async function previousDigest(dir: string, names: readonly string[], warn: (line: string) => void): Promise<string | null> {
  for (const name of [...names].reverse()) {
    const read = await readReportFile(join(dir, name));
    if ('bytes' in read) return fileDigest(read.bytes);
    warn(`restore-drill: warning: ${join(dir, name)} ${read.reason}; the new report does not link to it`);
  }
  return null;
}

/** Readers (and the ledger) never see a half-written file: write beside it, then rename over. */
async function writeAtomically(path: string, content: string): Promise<void> {
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await writeFile(temp, content, { flag: 'wx', mode: 0o644 });
    await rename(temp, path);
  } finally {
    await rm(temp, { force: true });
  }
}

/** `EACCES: permission denied, open '…'` → `permission denied (EACCES)`; the path is already in the message. */
function fsReason(error: Error, code: string): string {
  const text = new RegExp(`^${code}: ([^,]+)`).exec(error.message)?.[1];
  return text ? `${text} (${code})` : code;
}
