import type { KeyObject } from 'node:crypto';
import { readdir, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { loadHistory, type ReportHistory } from '../history.ts';
import { REPORT_SUFFIX } from '../../evidence/report-files.ts';
import { fileHref } from './escape.ts';
import { renderHtmlIndex } from './html-index.ts';
import { renderHtmlReport } from './html-report.ts';
import type { RunLink } from './history-section.ts';

/** Suffix of the HTML page written beside each `.report.json`. */
export const HTML_SUFFIX = '.report.html';
/** The index page of a report directory, rewritten after every report. */
export const INDEX_FILE = 'index.html';

/** Writes a file; the report writer passes its atomic writer so readers never see half a page. */
export type WriteFile = (path: string, content: string) => Promise<void>;

/**
 * The HTML page name of a report file.
 *
 * @example
 * htmlFileFor('20261123T175533Z-orders.report.json'); // '20261123T175533Z-orders.report.html'
 */
export function htmlFileFor(jsonFile: string): string {
  return `${jsonFile.endsWith(REPORT_SUFFIX) ? jsonFile.slice(0, -REPORT_SUFFIX.length) : jsonFile}${HTML_SUFFIX}`;
}

/** What {@link writeHtmlPages} needs from the report writer. */
export interface WriteHtmlPagesOptions {
  readonly dir: string;
  /** The `.report.json` just written into `dir`. */
  readonly jsonFile: string;
  /** Public half of the key it was signed with: every report in `dir` is checked against it. */
  readonly publicKey: KeyObject;
  readonly write?: WriteFile;
}

/**
 * After a report is written: its HTML page beside it (with the drill's history read from the directory)
 * and a fresh `index.html` for the directory. Signatures on both pages are checked against the signing
 * key's public half. Reads each report once (and the ledger once more): milliseconds for years of reports.
 *
 * @example
 * const { htmlPath } = await writeHtmlPages({ dir: 'reports', jsonFile, publicKey: key.publicKey });
 */
export async function writeHtmlPages(options: WriteHtmlPagesOptions): Promise<{ htmlPath: string; indexPath: string }> {
  const { dir, jsonFile } = options;
  const write = options.write ?? ((path, content) => writeFile(path, content));
  const history = await loadHistory(dir, { publicKey: options.publicKey });
  const existing = new Set(await readdir(dir));
  existing.add(htmlFileFor(jsonFile));
  const link = linkFrom(dir, dir, existing);

  const drill = history.drills.find((d) => d.runs.some((run) => run.file === jsonFile));
  const run = drill?.runs.find((r) => r.file === jsonFile);
  const htmlPath = join(dir, htmlFileFor(jsonFile));
  // The writer has just signed this file, so it is always found; if not, the index still gets rewritten.
  if (drill && run) {
    await write(
      htmlPath,
      renderHtmlReport({ report: run.report, jsonFile, signature: run.signature, history: drill, link }),
    );
  }
  const indexPath = join(dir, INDEX_FILE);
  await write(
    indexPath,
    renderHtmlIndex({
      history,
      title: `Restore drill reports — ${basename(resolve(dir))}`,
      link,
      keySource: 'the key that signed the newest report',
    }),
  );
  return { htmlPath, indexPath };
}

/**
 * Writes the index page of an already loaded history to `outPath` (anywhere: links are made relative to it).
 *
 * @example
 * await writeHtmlIndex(await loadHistory('reports', { publicKey }), 'audit/index.html');
 */
export async function writeHtmlIndex(history: ReportHistory, outPath: string, keySource?: string): Promise<void> {
  const existing = new Set(await readdir(history.dir));
  const page = renderHtmlIndex({
    history,
    title: `Restore drill reports — ${basename(resolve(history.dir))}`,
    link: linkFrom(history.dir, dirname(outPath), existing),
    keySource,
  });
  await writeFile(outPath, page);
}

/** Links to a run's HTML page (when there is one) and its signed JSON, relative to `pageDir`. */
function linkFrom(dir: string, pageDir: string, existing: ReadonlySet<string>): RunLink {
  const href = (file: string) => fileHref(relative(resolve(pageDir), resolve(dir, file)));
  return (run, kind) => {
    if (kind === 'json') return href(run.file);
    const html = htmlFileFor(run.file);
    return existing.has(html) ? href(html) : null;
  };
}
