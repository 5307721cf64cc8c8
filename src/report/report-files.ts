import { createHash } from 'node:crypto';
import { readdir } from 'node:fs/promises';

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
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '');
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
 * The `*.report.json` file names in a directory, oldest first (ledger order). Hidden files are skipped,
 * which keeps half-written temp files out.
 *
 * @example
 * const newest = (await listReportFiles('reports')).at(-1);
 */
export async function listReportFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && e.name.endsWith(REPORT_SUFFIX) && !e.name.startsWith('.'))
    .map((e) => e.name)
    .sort(compareReportNames);
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
