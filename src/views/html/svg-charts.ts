import { formatDuration } from '../../util/duration.ts';
import { trendAt, type MonthlyValue, type TrendLine } from '../forecast.ts';
import { monthIndex, monthRange, type Month } from '../history-months.ts';
import type { DrillStatus, PhaseTiming } from '../../model/report.ts';
import { escapeHtml } from './escape.ts';

/** One run drawn as a pass/fail mark under a monthly chart. */
export interface RunMark {
  readonly month: Month;
  readonly status: DrillStatus;
  /** Tooltip, e.g. `2026-11-15 03:00 passed, restore 2m 30s`. */
  readonly label: string;
}

/** What {@link monthlyChart} draws. */
export interface MonthlyChartOptions {
  /** Accessible name and heading of the chart. */
  readonly title: string;
  /** Added as `data-chart`, e.g. `restore` or `rpo`. */
  readonly kind: string;
  /** One value per month (seconds). */
  readonly points: readonly MonthlyValue[];
  /** Pass/fail marks, one per run. */
  readonly runs?: readonly RunMark[];
  /** A target drawn as a dashed line, e.g. `{ seconds: 900, label: 'RTO' }`. */
  readonly target?: { readonly seconds: number; readonly label: string } | null;
  /** A fitted trend, drawn from its first month to `extendTo`. */
  readonly trend?: TrendLine | null;
  /** Last month of the x axis when it goes past the data (the forecast). */
  readonly extendTo?: Month | null;
  /** The month the forecast reaches the target, marked with a line and its label. */
  readonly breach?: { readonly month: Month; readonly label: string } | null;
}

const WIDTH = 720;
const LEFT = 70;
const RIGHT = WIDTH - 20;
const TOP = 20;
const BOTTOM = 170;
const HEIGHT = 232;

/**
 * An inline SVG line chart of monthly values (seconds) with a target line, a dotted trend into the
 * forecast months, and a strip of pass/fail marks (one per run). Every data point is a
 * `<circle class="point" data-month data-seconds>` with a tooltip.
 *
 * @example
 * monthlyChart({ title: 'Longest restore per month', kind: 'restore', points, target: { seconds: 900, label: 'RTO' } });
 */
export function monthlyChart(options: MonthlyChartOptions): string {
  const { points, runs = [], target, trend } = options;
  const months = [
    ...points.map((p) => p.month),
    ...runs.map((r) => r.month),
    ...(options.extendTo ? [options.extendTo] : []),
  ];
  if (months.length === 0) return `<p class="empty">${escapeHtml(options.title)}: no data yet.</p>`;
  const sortedMonths = [...months].sort((a, b) => monthIndex(a) - monthIndex(b));
  const axis = monthRange(sortedMonths[0]!, sortedMonths.at(-1)!);
  const band = (RIGHT - LEFT) / axis.length;
  const x = (month: Month) => LEFT + (monthIndex(month) - monthIndex(axis[0]!) + 0.5) * band;

  const lastData = points.length
    ? [...points].sort((a, b) => monthIndex(a.month) - monthIndex(b.month)).at(-1)!.month
    : null;
  const trendEnd = trend ? (options.extendTo ?? trend.lastMonth) : null;
  const peak = Math.max(
    ...points.map((p) => p.seconds),
    target?.seconds ?? 0,
    trend && trendEnd ? trendAt(trend, trendEnd) : 0,
    1,
  );
  const step = niceStep(peak * 1.05);
  const yMax = step * Math.ceil((peak * 1.05) / step);
  const y = (seconds: number) => BOTTOM - (Math.max(0, Math.min(seconds, yMax)) / yMax) * (BOTTOM - TOP);

  const parts: string[] = [];
  // Forecast months are shaded, so a reader sees where measurement ends and extrapolation starts.
  if (lastData && options.extendTo && monthIndex(options.extendTo) > monthIndex(lastData)) {
    const from = x(lastData) + band / 2;
    parts.push(
      `<rect class="forecast-area" x="${n(from)}" y="${TOP}" width="${n(RIGHT - from)}" height="${BOTTOM - TOP}"/>`,
      `<text class="note" x="${n(from + 4)}" y="${TOP + 12}">forecast</text>`,
    );
  }
  for (let value = 0; value <= yMax + 1e-9; value += step) {
    parts.push(
      `<line class="grid" x1="${LEFT}" x2="${RIGHT}" y1="${n(y(value))}" y2="${n(y(value))}"/>`,
      `<text class="tick" x="${LEFT - 6}" y="${n(y(value) + 4)}" text-anchor="end">${escapeHtml(value === 0 ? '0' : formatDuration(value))}</text>`,
    );
  }
  const every = Math.ceil(axis.length / 12);
  axis.forEach((month, i) => {
    if (i % every !== 0) return;
    parts.push(
      `<text class="tick" x="${n(x(month))}" y="${BOTTOM + 16}" text-anchor="middle">${escapeHtml(month)}</text>`,
    );
  });
  if (target) {
    parts.push(
      `<line class="target" x1="${LEFT}" x2="${RIGHT}" y1="${n(y(target.seconds))}" y2="${n(y(target.seconds))}"/>`,
      `<text class="target-label" x="${LEFT + 4}" y="${n(y(target.seconds) - 5)}">${escapeHtml(`${target.label} ${formatDuration(target.seconds)}`)}</text>`,
    );
  }
  if (trend && trendEnd) {
    const from = trend.firstMonth;
    parts.push(
      `<line class="trend" x1="${n(x(from))}" y1="${n(y(trendAt(trend, from)))}" x2="${n(x(trendEnd))}" y2="${n(y(trendAt(trend, trendEnd)))}"/>`,
    );
  }
  if (
    options.breach &&
    monthIndex(options.breach.month) >= monthIndex(axis[0]!) &&
    monthIndex(options.breach.month) <= monthIndex(axis.at(-1)!)
  ) {
    const bx = x(options.breach.month);
    parts.push(
      `<line class="breach" x1="${n(bx)}" x2="${n(bx)}" y1="${TOP}" y2="${BOTTOM}" data-month="${escapeHtml(options.breach.month)}"/>`,
      `<text class="breach-label" x="${n(bx - 4)}" y="${TOP + 28}" text-anchor="end">${escapeHtml(options.breach.label)}</text>`,
    );
  }
  const sorted = [...points].sort((a, b) => monthIndex(a.month) - monthIndex(b.month));
  if (sorted.length > 1) {
    parts.push(
      `<polyline class="series" points="${sorted.map((p) => `${n(x(p.month))},${n(y(p.seconds))}`).join(' ')}"/>`,
    );
  }
  const failedMonths = new Set(runs.filter((r) => r.status !== 'passed').map((r) => r.month));
  for (const point of sorted) {
    const verdict = failedMonths.has(point.month) ? 'fail' : 'pass';
    parts.push(
      `<circle class="point ${verdict}" cx="${n(x(point.month))}" cy="${n(y(point.seconds))}" r="4" ` +
        `data-month="${escapeHtml(point.month)}" data-seconds="${point.seconds}">` +
        `<title>${escapeHtml(`${point.month}: ${formatDuration(point.seconds)}`)}</title></circle>`,
    );
  }
  if (runs.length > 0) {
    parts.push(`<text class="tick" x="${LEFT - 6}" y="${BOTTOM + 42}" text-anchor="end">runs</text>`);
    parts.push(...runMarks(runs, x, band));
  }
  const legend = [
    'dots: the month’s value',
    target ? `dashed: ${target.label} target` : '',
    trend ? 'dotted: least-squares trend' : '',
    runs.length ? 'runs: ● passed, ✗ failed' : '',
  ].filter(Boolean);
  return (
    `<figure class="chart"><figcaption>${escapeHtml(options.title)}</figcaption>` +
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${WIDTH} ${HEIGHT}" role="img" ` +
    `aria-label="${escapeHtml(options.title)}" data-chart="${escapeHtml(options.kind)}">${parts.join('')}</svg>` +
    `<p class="legend">${escapeHtml(legend.join(' · '))}</p></figure>`
  );
}

function runMarks(runs: readonly RunMark[], x: (month: Month) => number, band: number): string[] {
  const perMonth = new Map<Month, RunMark[]>();
  for (const run of runs) perMonth.set(run.month, [...(perMonth.get(run.month) ?? []), run]);
  const marks: string[] = [];
  const row = BOTTOM + 38;
  for (const [month, list] of perMonth) {
    const spacing = Math.min(11, (band - 4) / Math.max(1, list.length));
    list.forEach((run, i) => {
      const cx = x(month) + (i - (list.length - 1) / 2) * spacing;
      const title = `<title>${escapeHtml(run.label)}</title>`;
      const css = `mark mark-${escapeHtml(run.status)}`;
      marks.push(
        run.status === 'passed'
          ? `<g class="${css}" data-status="passed"><circle cx="${n(cx)}" cy="${row}" r="4.5"/>${title}</g>`
          : `<g class="${css}" data-status="${escapeHtml(run.status)}"><path d="M${n(cx - 4)} ${row - 4}L${n(cx + 4)} ${row + 4}M${n(cx + 4)} ${row - 4}L${n(cx - 4)} ${row + 4}"/>${title}</g>`,
      );
    });
  }
  return marks;
}

/**
 * The phases of one run as an inline SVG timeline: one bar per phase, placed at its start and as long as
 * it took (`<rect class="phase" data-phase data-seconds>`).
 *
 * @example
 * phaseTimeline(report.phases);
 */
export function phaseTimeline(phases: readonly PhaseTiming[]): string {
  if (phases.length === 0) return '<p class="empty">No phase was timed.</p>';
  const start = Math.min(...phases.map((p) => Date.parse(p.startedAt)));
  const spans = phases.map((p) => ({ phase: p, from: (Date.parse(p.startedAt) - start) / 1000 }));
  const total = Math.max(...spans.map((s) => s.from + s.phase.seconds), 0.001);
  const left = 100;
  const right = WIDTH - 110;
  const rowHeight = 28;
  const height = phases.length * rowHeight + 44;
  const x = (seconds: number) => left + (seconds / total) * (right - left);
  const parts: string[] = [];
  const step = niceStep(total);
  for (let value = 0; value <= total + 1e-9; value += step) {
    parts.push(
      `<line class="grid" x1="${n(x(value))}" x2="${n(x(value))}" y1="8" y2="${height - 30}"/>`,
      `<text class="tick" x="${n(x(value))}" y="${height - 14}" text-anchor="middle">${escapeHtml(value === 0 ? '0' : formatDuration(value))}</text>`,
    );
  }
  spans.forEach(({ phase, from }, i) => {
    const top = 12 + i * rowHeight;
    const width = Math.max(2, x(from + phase.seconds) - x(from));
    parts.push(
      `<text class="label" x="${left - 8}" y="${top + 15}" text-anchor="end">${escapeHtml(phase.name)}</text>`,
      `<rect class="phase phase-${escapeHtml(phase.status)}" x="${n(x(from))}" y="${top}" width="${n(width)}" height="20" rx="3" ` +
        `data-phase="${escapeHtml(phase.name)}" data-seconds="${phase.seconds}">` +
        `<title>${escapeHtml(`${phase.name}: ${formatDuration(phase.seconds)} from ${phase.startedAt} (${phase.status})`)}</title></rect>`,
      `<text class="value" x="${n(x(from) + width + 6)}" y="${top + 15}">${escapeHtml(formatDuration(phase.seconds))}${phase.status === 'ok' ? '' : ` ${escapeHtml(phase.status)}`}</text>`,
    );
  });
  return (
    `<figure class="chart"><figcaption>Phase timeline</figcaption>` +
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${WIDTH} ${height}" role="img" aria-label="Phase timeline" data-chart="phases">` +
    `${parts.join('')}</svg></figure>`
  );
}

const STEPS = [
  0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 14400, 21600, 43200, 86400,
  172800, 604800, 1209600, 2592000,
];

/** A round tick step (in seconds) giving at most 5 steps up to `max`. */
function niceStep(max: number): number {
  return STEPS.find((step) => max / step <= 5) ?? Math.ceil(max / 5);
}

function n(value: number): string {
  return value.toFixed(1).replace(/\.0$/, '');
}
