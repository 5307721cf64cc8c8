import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { open, readdir } from 'node:fs/promises';
import { join } from 'node:path';

/** Every signed report file ends with this; the human report beside it ends with {@link MARKDOWN_SUFFIX}. */
export const REPORT_SUFFIX = '.report.json';
/** Suffix of the human-readable report written beside each signed one. */
export const MARKDOWN_SUFFIX = '.report.md';

/**
 * A drill name as it appears in file names: lowercase, runs of other characters as `-`, at most 60 chars.
 *
 * @example
 * reportSlug('Orders DB: nightly (RDS)'); // 'orders-db-nightly-rds'
 */
export function reportSlug(drillName: string): string {
  const slug = drillName
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 60)
    .replace(/-+$/, '');
  return slug || 'drill';
}

/**
 * A UTC time as it starts report file names, so that name order is time order.
 *
 * @example
 * compactUtc(new Date('2026-11-23T17:52:26.431Z')); // '20261123T175226Z'
 */
export function compactUtc(date: Date): string {
  return date
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/[-:]/g, '');
}

/**
 * Orders report file names the way the ledger does: by name without the suffix, so `…-orders` comes
 * before its collision twin `…-orders-2` (with the suffix, `-` would sort before `.`).
 */
export function compareReportNames(a: string, b: string): number {
  const baseA = a.endsWith(REPORT_SUFFIX) ? a.slice(0, -REPORT_SUFFIX.length) : a;
  const baseB = b.endsWith(REPORT_SUFFIX) ? b.slice(0, -REPORT_SUFFIX.length) : b;
  return baseA < baseB ? -1 : baseA > baseB ? 1 : 0;
}

/**
 * The names restore-drill gives report files: `<UTC time>-<drill slug>[-n].report.json`, the time as
 * {@link compactUtc} writes it. Only such names take part in the ledger, so a stray file cannot decide
 * where the chain ends or what the next report is called.
 */
const REPORT_NAME = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z-[a-z0-9]+(?:-[a-z0-9]+)*\.report\.json$/;

/**
 * True for a file name restore-drill could have written: the time stamp is a real UTC time and the slug is
 * what {@link reportSlug} makes (plus an optional `-n` collision suffix).
 *
 * @example
 * isReportFileName('20261123T175226Z-orders.report.json'); // true
 * isReportFileName('zzzz.report.json'); // false
 */
export function isReportFileName(name: string): boolean {
  return reportFileTime(name) !== null;
}

/**
 * The time stamp a report file name starts with, or null when the name is not one restore-drill writes.
 *
 * @example
 * reportFileTime('20261123T175226Z-orders.report.json'); // Date 2026-11-23T17:52:26Z
 */
export function reportFileTime(name: string): Date | null {
  const m = REPORT_NAME.exec(name);
  if (!m) return null;
  const iso = `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z`;
  const time = new Date(iso);
  // `new Date` rolls 2026-02-30 over to March; a stamp compactUtc never writes is not a report's.
  return Number.isNaN(time.getTime()) || time.toISOString().slice(0, 19) !== iso.slice(0, 19) ? null : time;
}

/** How {@link listReportFiles} reports files it leaves out. */
export interface ListReportFilesOptions {
  /** One warning line per skipped file (once per process and file); default: stderr. */
  readonly warn?: (line: string) => void;
}

const warnedAbout = new Set<string>();

function warnOnce(key: string, line: string, warn: ((line: string) => void) | undefined): void {
  if (warnedAbout.has(key)) return;
  warnedAbout.add(key);
  (warn ?? ((text: string) => process.stderr.write(`${text}\n`)))(`restore-drill: warning: ${line}`);
}

/**
 * The report file names in a directory, oldest first (ledger order): regular files (never a symlink)
 * named as restore-drill names them. Hidden files are skipped, which keeps half-written temp files out; any
 * other `*.report.json` is skipped with one warning, because it is not a report restore-drill wrote.
 *
 * @example
 * const newest = (await listReportFiles('reports')).at(-1);
 */
export async function listReportFiles(dir: string, options: ListReportFilesOptions = {}): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const names: string[] = [];
  for (const entry of entries) {
    if (!entry.name.endsWith(REPORT_SUFFIX) || entry.name.startsWith('.')) continue;
    if (!entry.isFile()) {
      if (!entry.isDirectory()) {
        warnOnce(
          join(dir, entry.name),
          `${join(dir, entry.name)} is not a regular file; it is not read as a report`,
          options.warn,
        );
      }
      continue;
    }
    if (!isReportFileName(entry.name)) {
      warnOnce(
        join(dir, entry.name),
        `${join(dir, entry.name)} is not named <UTC time>-<drill>.report.json; it is not read as a report`,
        options.warn,
      );
      continue;
    }
    names.push(entry.name);
  }
  return names.sort(compareReportNames);
}

/**
 * The most a report file may hold to be read: a signed report of thousands of tables is a few MiB, so a
 * larger file is not one restore-drill wrote, and reading it whole could exhaust memory.
 */
export const MAX_REPORT_BYTES = 32 * 1024 * 1024;

/** A report file's bytes, or why they were not read (one line: not a regular file, too large). */
export type ReportFileRead = { readonly bytes: Buffer } | { readonly reason: string };

/** Options of {@link readReportFile}. */
export interface ReadReportFileOptions {
  /** Default {@link MAX_REPORT_BYTES}. */
  readonly maxBytes?: number;
  /** For a path the user named (`verify FILE`): a symlink they chose is theirs to follow. Default false. */
  readonly followSymlink?: boolean;
}

/**
 * Reads one report file safely: not through a symlink (unless asked), never blocking on a FIFO or device that replaced
 * the file since it was listed, and never more than {@link MAX_REPORT_BYTES}. Throws only what `open`
 * throws for a missing or unreadable file (ENOENT, EACCES), for the caller to turn into its own message.
 *
 * @example
 * const read = await readReportFile('reports/20261123T175226Z-orders.report.json');
 * if ('reason' in read) console.warn(read.reason);
 */
export async function readReportFile(path: string, options: ReadReportFileOptions = {}): Promise<ReportFileRead> {
  const maxBytes = options.maxBytes ?? MAX_REPORT_BYTES;
  let handle;
  try {
    const noFollow = options.followSymlink ? 0 : constants.O_NOFOLLOW;
    handle = await open(path, constants.O_RDONLY | noFollow | constants.O_NONBLOCK);
  } catch (error) {
    if ((error as { code?: string }).code === 'ELOOP') return { reason: 'is a symlink, not a report file' };
    throw error;
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) return { reason: 'is not a regular file' };
    if (stats.size > maxBytes)
      return { reason: `is larger than ${maxBytes / 1024 / 1024} MiB, not a report restore-drill wrote` };
    // Read at most one byte past the limit: a file that grows while read is cut off, not read forever.
    const buffer = Buffer.alloc(Math.min(stats.size, maxBytes) + 1);
    let length = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length === buffer.length) break;
    }
    if (length > maxBytes)
      return { reason: `is larger than ${maxBytes / 1024 / 1024} MiB, not a report restore-drill wrote` };
    return { bytes: buffer.subarray(0, length) };
  } finally {
    await handle.close();
  }
}

/**
 * The ledger digest of a report file's exact bytes.
 *
 * @example
 * fileDigest(await readFile(path)); // 'sha256:9f2c…'
 */
export function fileDigest(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}
