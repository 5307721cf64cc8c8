import { basename } from 'node:path';
import type { LedgerHead } from '../model/ledger-head.ts';
import type { DrillReport } from '../model/report.ts';
import { writeSignedReport, type WriteSignedReportOptions } from '../evidence/report-writer.ts';
import { renderMarkdown as defaultRenderMarkdown, type MarkdownOptions } from '../views/markdown.ts';
import { writeReportViews } from '../views/report-views.ts';

/** What {@link writeReport} needs: what the signed report needs, and optionally a Markdown renderer. */
export interface WriteReportOptions extends WriteSignedReportOptions {
  /** Renders the human `.report.md`; defaults to the standard Markdown view. */
  readonly renderMarkdown?: (report: DrillReport, opts: MarkdownOptions) => string;
}

/** Where a report was written and where it stands in the ledger. */
export interface WrittenReport {
  readonly jsonPath: string;
  readonly markdownPath: string;
  /** The run's HTML page beside it; `index.html` of the directory is rewritten too. */
  readonly htmlPath: string;
  /** `sha256:<hex>` of the previous newest report file, or null when this is the first. */
  readonly previous: string | null;
  /** Its position in the chain and the digest of its file: the new head. */
  readonly head: LedgerHead;
}

/**
 * The `report` phase's writing: first the evidence — the signed report, chained in the directory's ledger
 * and appended to the evidence store, under the directory lock ({@link writeSignedReport}) — then, with the
 * lock released, its views (Markdown, HTML, the index), where a failure is only a warning. When the
 * evidence store could not take the report, that error is thrown after the views of the locally kept
 * report are written.
 *
 * @example
 * const { jsonPath, markdownPath } = await writeReport({ report, reportDir: 'reports', key });
 */
export async function writeReport(options: WriteReportOptions): Promise<WrittenReport> {
  const renderMarkdown = options.renderMarkdown ?? defaultRenderMarkdown;
  const signed = await writeSignedReport({ ...options, renderMarkdown });
  const views = await writeReportViews({
    dir: options.reportDir,
    jsonFile: basename(signed.jsonPath),
    base: signed.base,
    report: signed.report,
    key: options.key,
    renderMarkdown,
    ...(options.warn ? { warn: options.warn } : {}),
  });
  if (signed.storeError) throw signed.storeError;
  return { jsonPath: signed.jsonPath, ...views, previous: signed.previous, head: signed.head };
}
