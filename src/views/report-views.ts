import type { KeyObject } from 'node:crypto';
import { join } from 'node:path';
import { MARKDOWN_SUFFIX } from '../evidence/report-files.ts';
import type { DrillReport } from '../model/report.ts';
import { fsReason, writeAtomically } from '../util/atomic-write.ts';
import { htmlFileFor, writeHtmlPages } from './html/html-pages.ts';
import { renderMarkdown as defaultRenderMarkdown, type MarkdownOptions } from './markdown.ts';

/** What {@link writeReportViews} needs: the signed report just written, and the key's public half. */
export interface WriteReportViewsOptions {
  readonly dir: string;
  /** The signed `.report.json` in `dir`. */
  readonly jsonFile: string;
  /** Its name without the suffix: the views are `<base>.report.md` and `<base>.report.html`. */
  readonly base: string;
  /** The report as signed. */
  readonly report: DrillReport;
  /** The signing key's id (named in the Markdown) and public half (the HTML pages check signatures with it). */
  readonly key: { readonly keyid: string; readonly publicKey: KeyObject };
  /** Renders the human `.report.md`; defaults to the standard Markdown view. */
  readonly renderMarkdown?: (report: DrillReport, opts: MarkdownOptions) => string;
  /** One warning line when a view cannot be written; default stderr. */
  readonly warn?: (line: string) => void;
}

/**
 * Renders the views of a signed report that is already written: `.report.md` and `.report.html` beside it,
 * and the directory's `index.html`. Run after the evidence, outside the directory lock: views can always be
 * rebuilt from the signed reports, so one that cannot be written (a disk that just filled up) is a warning,
 * and never changes the drill's outcome or exit code.
 *
 * @example
 * const { markdownPath } = await writeReportViews({ dir, jsonFile, base, report, key });
 */
export async function writeReportViews(
  options: WriteReportViewsOptions,
): Promise<{ markdownPath: string; htmlPath: string }> {
  const { dir, jsonFile, key } = options;
  const render = options.renderMarkdown ?? defaultRenderMarkdown;
  const warn = options.warn ?? ((line: string) => process.stderr.write(`${line}\n`));
  const markdownPath = join(dir, `${options.base}${MARKDOWN_SUFFIX}`);
  let htmlPath = join(dir, htmlFileFor(jsonFile));
  try {
    await writeAtomically(markdownPath, render(options.report, { jsonFile, keyid: key.keyid }));
    ({ htmlPath } = await writeHtmlPages({ dir, jsonFile, publicKey: key.publicKey, write: writeAtomically }));
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    const reason = typeof code === 'string' ? fsReason(error as Error, code) : (error as Error).message.split('\n')[0];
    warn(
      `restore-drill: warning: the signed report ${join(dir, jsonFile)} was written, its Markdown/HTML views were not: ${reason}`,
    );
  }
  return { markdownPath, htmlPath };
}
