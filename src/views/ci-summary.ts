import { basename, relative } from 'node:path';
import type { DrillMeta } from '../model/drill-meta.ts';
import { formatDuration } from '../util/duration.ts';
import { DEMO_KEY_NOTE, failureLines } from './failure-summary.ts';

/** A drill of a run that wrote no report: its file could not be loaded, or its options are wrong. */
export interface NotRunDrill {
  /** The drill's name, or its file when the file could not be loaded. */
  readonly name: string;
  /** One line: why it did not run. */
  readonly reason: string;
}

/** What the CI outputs (JUnit XML, the Markdown summary, notifications, metrics) are made from. */
export interface CiRun {
  /** Every drill that ran and wrote a signed report, in the order they finished. */
  readonly drills: readonly DrillMeta[];
  readonly notRun: readonly NotRunDrill[];
  /** Drills their file skipped (e.g. a tool they need is not installed): neither passed nor failed, not verified. */
  readonly skipped?: readonly NotRunDrill[];
}

/** How {@link renderCiSummary} links the reports. */
export interface CiSummaryOptions {
  /**
   * `relative`: links relative to `reportDir`, for `summary.md` written there (artifact browsers open them).
   * `path`: the report's path as plain text, for places where a relative link goes nowhere (a GitHub job
   * summary), optionally with one link to where the reports were uploaded.
   */
  readonly links: 'relative' | 'path';
  readonly reportDir: string;
  /** e.g. the GitHub Actions run page, whose artifacts hold the report directory. */
  readonly reportsUrl?: string;
  /** One line about the restore-time trend against the RTO (`forecastLine` of forecast.ts). */
  readonly forecast?: string;
}

const STATUS = { passed: '✅ passed', failed: '❌ failed', error: '⚠️ error' } as const;
const MAX_FAILED_IN_CELL = 3;

/**
 * The Markdown summary of a run for a CI job summary: a headline, then one table row per drill with its
 * status, restore time, RTO and RPO (actual / target, met or missed), the first failed checks and a link
 * to its report. Text from drills and checks is escaped so it cannot break the table or inject HTML.
 *
 * @example
 * await writeFile('reports/summary.md', renderCiSummary(run, { links: 'relative', reportDir: 'reports' }));
 */
export function renderCiSummary(run: CiRun, options: CiSummaryOptions): string {
  const total = run.drills.length + run.notRun.length;
  const bad = run.drills.filter((d) => d.status !== 'passed').length + run.notRun.length;
  const headline =
    total === 0
      ? 'no drills ran'
      : bad === 0
        ? `all ${total} drill${total === 1 ? '' : 's'} passed`
        : `${bad} of ${total} drill${total === 1 ? '' : 's'} did not pass`;
  const skipped = run.skipped ?? [];
  const skippedNote = skipped.length ? `; ${skipped.length} skipped, not verified` : '';
  const lines = [`## restore-drill: ${headline}${skippedNote}`, '', ...leadingFailures(run), ...demoKeyLines(run)];
  lines.push('| drill | status | restore | RTO | RPO | failed checks | report |', '|---|---|---|---|---|---|---|');
  for (const drill of run.drills) {
    lines.push(
      row([
        cell(drill.name),
        `${STATUS[drill.status]}${drill.demoKey ? ` (${DEMO_KEY_NOTE})` : ''}`,
        drill.restoreSeconds === null ? '–' : formatDuration(drill.restoreSeconds),
        objective(drill.rto),
        objective(drill.rpo),
        failedCell(drill),
        reportCell(drill.markdownPath, options),
      ]),
    );
  }
  for (const drill of run.notRun)
    lines.push(row([cell(drill.name), '⚠️ not run', '–', '–', '–', cell(drill.reason), '–']));
  for (const drill of skipped)
    lines.push(row([cell(drill.name), '⏭️ skipped', '–', '–', '–', cell(drill.reason), '–']));
  lines.push('');
  lines.push(...notVerifiedLines(run.drills));
  if (options.reportsUrl)
    lines.push(
      `Signed reports: [${cell(options.reportsUrl)}](${options.reportsUrl}) (artifact \`${cell(basename(options.reportDir))}\`)`,
      '',
    );
  if (options.forecast) lines.push(cell(options.forecast), '');
  return `${lines.join('\n')}\n`;
}

/** What each drill did not verify, so a green row is read for what it covers. */
function notVerifiedLines(drills: readonly DrillMeta[]): string[] {
  const listed = drills.filter((d) => d.notVerified?.length);
  if (listed.length === 0) return [];
  return [
    '**Not verified** (not covered by the results above):',
    '',
    ...listed.map((d) => `- ${cell(d.name)}: ${d.notVerified!.map(cell).join('; ')}`),
    '',
  ];
}

/** Before the table: each drill that did not pass, with why (the table cell holds only the first few). */
function leadingFailures(run: CiRun): string[] {
  const lines: string[] = [];
  for (const drill of run.drills) {
    if (drill.status === 'passed') continue;
    // DrillMeta's error is already `phase: message`.
    const why = [
      ...(drill.error ? [`error in ${drill.error}`] : []),
      ...failureLines({ status: drill.status, checks: drill.checks }, 5),
    ];
    lines.push(`- ${STATUS[drill.status]} **${cell(drill.name)}**`, ...why.map((w) => `  - ${cell(w)}`));
  }
  for (const drill of run.notRun) lines.push(`- ⚠️ not run **${cell(drill.name)}**`, `  - ${cell(drill.reason)}`);
  return lines.length ? [...lines, ''] : [];
}

function demoKeyLines(run: CiRun): string[] {
  const demo = run.drills.filter((d) => d.demoKey).length;
  if (demo === 0) return [];
  return [
    `> ⚠️ **${demo} report(s) signed with a demo key — not evidence.** Set \`RESTORE_DRILL_SIGNING_KEY\` to sign with your own key.`,
    '',
  ];
}

function objective(o: DrillMeta['rto']): string {
  if (o.actualSeconds === null) return '–';
  if (o.targetSeconds === null) return formatDuration(o.actualSeconds);
  return `${formatDuration(o.actualSeconds)} / ${formatDuration(o.targetSeconds)} ${o.met ? '✅' : '❌'}`;
}

function failedCell(drill: DrillMeta): string {
  const failed = drill.checks.filter((c) => c.status === 'failed');
  const parts = failed
    .slice(0, MAX_FAILED_IN_CELL)
    .map((c) => cell(`${c.name}: expected ${c.expected}, got ${c.actual}`));
  if (failed.length > MAX_FAILED_IN_CELL) parts.push(`… ${failed.length - MAX_FAILED_IN_CELL} more`);
  if (drill.error) parts.unshift(cell(drill.error));
  return parts.join('<br>') || '–';
}

function reportCell(markdownPath: string, options: CiSummaryOptions): string {
  if (options.links === 'relative') {
    const target = relative(options.reportDir, markdownPath).split('\\').join('/');
    return `[${cell(basename(markdownPath))}](${encodeURI(target)})`;
  }
  return `\`${relative(process.cwd(), markdownPath).replaceAll('`', "'")}\``;
}

function row(cells: string[]): string {
  return `| ${cells.join(' | ')} |`;
}

/** Text safe inside a table cell: no line breaks, no `|`, no HTML, no Markdown emphasis by accident. */
function cell(text: string): string {
  return text
    .replace(/\s*\n\s*/g, ' ')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/([|\\`*_[\]])/g, '\\$1');
}
