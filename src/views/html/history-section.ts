import { formatDuration } from '../../util/duration.ts';
import {
  describeChange,
  describeForecast,
  drillForecast,
  monthlyRestore,
  recentChange,
  type RestoreForecast,
} from '../forecast.ts';
import { addMonths } from '../history-months.ts';
import type { DrillHistory, HistoryRun } from '../history.ts';
import { escapeHtml } from './escape.ts';
import { objectiveCell, shortTime, signatureCell } from './fragments.ts';
import { monthlyChart, type RunMark } from './svg-charts.ts';

/**
 * Where a run's files are, relative to the page that links them (an escaped `href`): its HTML `page` (null
 * when it has none) or its signed `json`.
 */
export type RunLink = (run: HistoryRun, kind: 'page' | 'json') => string | null;

/** How {@link drillHistorySection} links and trims. */
export interface HistorySectionOptions {
  /** Links to each run's files; without it, file names are shown unlinked. */
  readonly link?: RunLink;
  /** File name of the run the page is about; its row is marked. */
  readonly current?: string;
  /** Rows of the run table, newest first; default 24. */
  readonly maxRows?: number;
}

/**
 * A drill's history: the trend and forecast lines, the restore-time and achieved-RPO charts per month
 * with pass/fail marks, and the table of its runs (newest first).
 *
 * @example
 * drillHistorySection(history.drills[0]!, { link: (run) => run.file });
 */
export function drillHistorySection(drill: DrillHistory, options: HistorySectionOptions = {}): string {
  const forecast = drillForecast(drill);
  const restore = monthlyRestore(drill);
  const change = recentChange(restore);
  const trusted = drill.runs.filter((run) => run.trusted);
  const marks: RunMark[] = trusted.map((run) => ({
    month: run.month,
    status: run.status,
    label:
      `${shortTime(run.report.startedAt)} ${run.status}` +
      (run.restoreSeconds === null ? ', not restored' : `, restore ${formatDuration(run.restoreSeconds)}`),
  }));
  const latestTarget = (pick: (run: HistoryRun) => number | null) =>
    trusted
      .map(pick)
      .filter((value): value is number => value !== null)
      .at(-1) ?? null;
  const rtoTarget = latestTarget((run) => run.rto.targetSeconds);
  const rpoTarget = latestTarget((run) => run.rpo.targetSeconds);
  const rpoPoints = drill.months.flatMap((m) => (m.rpo ? [{ month: m.month, seconds: m.rpo.max }] : []));
  const trend = 'trend' in forecast ? forecast.trend : null;

  const parts: string[] = [];
  parts.push(
    `<p class="trend-line">Restore time, last 3 months: ${escapeHtml(change ? describeChange(change) : 'not enough history')}</p>`,
    `<p class="forecast" data-forecast="${escapeHtml(forecast.kind)}">Forecast: ${escapeHtml(describeForecast(forecast))}</p>`,
    monthlyChart({
      title: 'Longest restore per month',
      kind: 'restore',
      points: restore,
      runs: marks,
      target: rtoTarget === null ? null : { seconds: rtoTarget, label: 'RTO' },
      trend,
      extendTo: trend ? forecastEnd(forecast) : null,
      breach: forecast.kind === 'breach' ? { month: forecast.month, label: `RTO reached ${forecast.month}` } : null,
    }),
    monthlyChart({
      title: 'Longest achieved RPO per month',
      kind: 'rpo',
      points: rpoPoints,
      runs: marks,
      target: rpoTarget === null ? null : { seconds: rpoTarget, label: 'RPO' },
    }),
  );
  if (trusted.length < drill.runs.length) {
    parts.push(
      `<p class="panel bad">${drill.runs.length - trusted.length} run(s) of this drill have an invalid signature; ` +
        'they are listed below but left out of the charts, the trend and the forecast.</p>',
    );
  }
  parts.push(runTable(drill, options));
  return parts.join('\n');
}

/** How far the x axis goes past the data: to the breach month when it is near, else six months. */
function forecastEnd(forecast: RestoreForecast): string | null {
  if (!('trend' in forecast)) return null;
  if (forecast.kind === 'breach' && forecast.monthsAhead > 0 && forecast.monthsAhead <= 24) return forecast.month;
  return addMonths(forecast.trend.lastMonth, 6);
}

function runTable(drill: DrillHistory, options: HistorySectionOptions): string {
  const maxRows = options.maxRows ?? 24;
  const newestFirst = [...drill.runs].reverse();
  const shown = newestFirst.slice(0, maxRows);
  const rows = shown.map((run) => {
    const page = options.link?.(run, 'page') ?? null;
    const json = options.link?.(run, 'json') ?? null;
    const name = escapeHtml(run.file);
    const base = escapeHtml(run.file.replace(/\.report\.json$/, ''));
    const file = page
      ? `<a href="${page}">${base}</a>${json ? ` · <a href="${json}">json</a>` : ''}`
      : json
        ? `<a href="${json}">${name}</a>`
        : name;
    const classes = [`run-${run.status}`, `sig-${run.signature.state}`, run.file === options.current ? 'current' : '']
      .filter(Boolean)
      .join(' ');
    return (
      `<tr class="run ${escapeHtml(classes)}" data-file="${name}">` +
      `<td class="mono nowrap">${escapeHtml(shortTime(run.report.startedAt))}</td>` +
      `<td class="nowrap">${run.status === 'passed' ? '<span class="yes">✓ passed</span>' : `<span class="no">✗ ${escapeHtml(run.status)}</span>`}</td>` +
      `<td class="num">${escapeHtml(run.restoreSeconds === null ? '—' : formatDuration(run.restoreSeconds))}</td>` +
      `<td>${objectiveCell(run.rto)}</td><td>${objectiveCell(run.rpo)}</td>` +
      `<td>${signatureCell(run.signature)}</td>` +
      `<td class="mono">${file}${run.file === options.current ? ' <strong>(this run)</strong>' : ''}</td></tr>`
    );
  });
  const more = newestFirst.length - shown.length;
  return (
    '<table class="runs"><thead><tr><th>Started (UTC)</th><th>Result</th><th>Restore</th><th>RTO</th><th>RPO</th>' +
    `<th>Signature</th><th>Report</th></tr></thead><tbody>${rows.join('')}</tbody></table>` +
    (more > 0 ? `<p class="meta">and ${more} older run(s), in the report directory.</p>` : '')
  );
}
