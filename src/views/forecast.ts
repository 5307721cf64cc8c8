import { formatDuration } from '../util/duration.ts';
import type { DrillHistory } from './history.ts';
import { addMonths, monthIndex, type Month } from './history-months.ts';

/** One value per month, e.g. the longest restore of that month in seconds. */
export interface MonthlyValue {
  readonly month: Month;
  readonly seconds: number;
}

/** A least-squares line through monthly values: `seconds = interceptSeconds + slope × (months since firstMonth)`. */
export interface TrendLine {
  readonly firstMonth: Month;
  readonly lastMonth: Month;
  /** How many monthly values the line was fitted on. */
  readonly points: number;
  readonly interceptSeconds: number;
  readonly slopeSecondsPerMonth: number;
  /** The slope relative to the fitted value at `lastMonth`, in percent; null when that value is not positive. */
  readonly growthPercentPerMonth: number | null;
}

/** The fewest months of history a forecast is made from. */
export const MIN_FORECAST_MONTHS = 3;
/** How far ahead a breach is looked for. */
export const FORECAST_HORIZON_MONTHS = 60;

/** What the restore-time trend says about the RTO. */
export type RestoreForecast =
  | { readonly kind: 'not-enough-history'; readonly months: number }
  | { readonly kind: 'not-growing'; readonly trend: TrendLine }
  | { readonly kind: 'no-target'; readonly trend: TrendLine }
  | { readonly kind: 'not-within-horizon'; readonly trend: TrendLine; readonly rtoTargetSeconds: number }
  | {
      readonly kind: 'breach';
      readonly trend: TrendLine;
      readonly rtoTargetSeconds: number;
      /** First month in which the fitted recovery time reaches the RTO target. */
      readonly month: Month;
      /** Months after the last month of history; 0 when the trend already reaches the target. */
      readonly monthsAhead: number;
    };

/** What {@link forecastRestore} fits and compares. */
export interface ForecastInput {
  /** Restore time per month (any order; months may be missing). */
  readonly points: readonly MonthlyValue[];
  readonly rtoTargetSeconds: number | null;
  /** The rest of the RTO clock (locate, provision, verify), assumed to stay as it is; default 0. */
  readonly overheadSeconds?: number;
}

/**
 * Fits a least-squares line through monthly values, with x in months (gaps count as months).
 * Returns null with fewer than {@link MIN_FORECAST_MONTHS} values.
 *
 * @example
 * fitTrend([{ month: '2026-01', seconds: 100 }, { month: '2026-02', seconds: 110 }, { month: '2026-03', seconds: 120 }]);
 * // { slopeSecondsPerMonth: 10, interceptSeconds: 100, … }
 */
export function fitTrend(points: readonly MonthlyValue[]): TrendLine | null {
  if (points.length < MIN_FORECAST_MONTHS) return null;
  const sorted = [...points].sort((a, b) => monthIndex(a.month) - monthIndex(b.month));
  const first = sorted[0]!.month;
  const last = sorted.at(-1)!.month;
  const xs = sorted.map((p) => monthIndex(p.month) - monthIndex(first));
  const ys = sorted.map((p) => p.seconds);
  const n = sorted.length;
  const meanX = xs.reduce((a, b) => a + b, 0) / n;
  const meanY = ys.reduce((a, b) => a + b, 0) / n;
  let sxx = 0;
  let sxy = 0;
  xs.forEach((x, i) => {
    sxx += (x - meanX) ** 2;
    sxy += (x - meanX) * (ys[i]! - meanY);
  });
  // Several values in one month only: no spread in x, so no slope can be fitted.
  if (sxx === 0) return null;
  const slope = sxy / sxx;
  const intercept = meanY - slope * meanX;
  const atLast = intercept + slope * xs.at(-1)!;
  return {
    firstMonth: first,
    lastMonth: last,
    points: n,
    interceptSeconds: intercept,
    slopeSecondsPerMonth: slope,
    growthPercentPerMonth: atLast > 0 ? (slope / atLast) * 100 : null,
  };
}

/**
 * The fitted value of a trend line in a month.
 *
 * @example
 * trendAt(trend, '2027-06'); // seconds
 */
export function trendAt(trend: TrendLine, month: Month): number {
  return trend.interceptSeconds + trend.slopeSecondsPerMonth * (monthIndex(month) - monthIndex(trend.firstMonth));
}

/**
 * Forecasts when restore time, growing as it has, makes the drill miss its RTO: the first month in which
 * the fitted restore time plus the rest of the RTO clock reaches the target, looked for up to
 * {@link FORECAST_HORIZON_MONTHS} months ahead.
 *
 * @example
 * forecastRestore({ points, rtoTargetSeconds: 900, overheadSeconds: 40 });
 * // { kind: 'breach', month: '2027-08', monthsAhead: 9, … }
 */
export function forecastRestore(input: ForecastInput): RestoreForecast {
  const trend = fitTrend(input.points);
  if (!trend) return { kind: 'not-enough-history', months: new Set(input.points.map((p) => p.month)).size };
  if (trend.slopeSecondsPerMonth <= 0) return { kind: 'not-growing', trend };
  const target = input.rtoTargetSeconds;
  if (target === null) return { kind: 'no-target', trend };
  const limit = target - (input.overheadSeconds ?? 0);
  const lastX = monthIndex(trend.lastMonth) - monthIndex(trend.firstMonth);
  const crossing = (limit - trend.interceptSeconds) / trend.slopeSecondsPerMonth;
  const monthsAhead = Math.max(0, Math.ceil(crossing - lastX));
  if (monthsAhead > FORECAST_HORIZON_MONTHS) return { kind: 'not-within-horizon', trend, rtoTargetSeconds: target };
  return {
    kind: 'breach',
    trend,
    rtoTargetSeconds: target,
    month: addMonths(trend.lastMonth, monthsAhead),
    monthsAhead,
  };
}

/**
 * The forecast of one drill's history: its monthly longest restore, against the RTO target of its latest
 * run, with the rest of the RTO clock taken from the latest run that measured both.
 *
 * @example
 * describeForecast(drillForecast(history.drills[0]!));
 */
export function drillForecast(drill: DrillHistory): RestoreForecast {
  const points = monthlyRestore(drill);
  const trusted = drill.runs.filter((run) => run.trusted);
  const rtoTargetSeconds =
    trusted
      .map((run) => run.rto.targetSeconds)
      .filter((t) => t !== null)
      .at(-1) ?? null;
  const measured = trusted.filter((run) => run.restoreSeconds !== null && run.rto.actualSeconds !== null).at(-1);
  const overheadSeconds = measured ? Math.max(0, measured.rto.actualSeconds! - measured.restoreSeconds!) : 0;
  return forecastRestore({ points, rtoTargetSeconds, overheadSeconds });
}

/**
 * One line for people, used by the terminal, the Markdown and the HTML.
 *
 * @example
 * describeForecast(forecast);
 * // 'restore time grows 12s/month (+4.0%/month over 7 months); at this rate the RTO of 15m 00s is reached in 2027-08 (in 9 months)'
 */
export function describeForecast(forecast: RestoreForecast): string {
  if (forecast.kind === 'not-enough-history') {
    return (
      `not enough history for a forecast: restore times from ${forecast.months} month${forecast.months === 1 ? '' : 's'}, ` +
      `at least ${MIN_FORECAST_MONTHS} needed`
    );
  }
  const { trend } = forecast;
  const over = `over ${trend.points} months`;
  if (forecast.kind === 'not-growing') {
    return `restore time is not growing (${signed(trend.slopeSecondsPerMonth)}/month ${over})`;
  }
  const growth = trend.growthPercentPerMonth === null ? '' : `+${trend.growthPercentPerMonth.toFixed(1)}%/month `;
  const grows = `restore time grows ${formatDuration(trend.slopeSecondsPerMonth)}/month (${growth}${over})`;
  if (forecast.kind === 'no-target') return `${grows}; no RTO target to forecast a breach against`;
  const rto = `the RTO of ${formatDuration(forecast.rtoTargetSeconds)}`;
  if (forecast.kind === 'not-within-horizon') {
    return `${grows}; at this rate ${rto} is not reached within ${FORECAST_HORIZON_MONTHS / 12} years`;
  }
  if (forecast.monthsAhead === 0) return `${grows}; at this rate ${rto} is already reached (${forecast.month})`;
  const ahead = `in ${forecast.monthsAhead} month${forecast.monthsAhead === 1 ? '' : 's'}`;
  return `${grows}; at this rate ${rto} is reached in ${forecast.month} (${ahead})`;
}

/**
 * One line with the forecast of each drill, for a summary that has room for one line (the CI summary):
 * the drills of `history`, or only those named in `names`. Undefined when there is no such drill.
 *
 * @example
 * forecastLine(await loadHistory('reports'), ['orders']);
 * // 'Forecast — orders: restore time grows 26s/month (+4.5%/month over 11 months); at this rate …'
 */
export function forecastLine(
  history: { readonly drills: readonly DrillHistory[] },
  names?: readonly string[],
): string | undefined {
  const drills = names ? history.drills.filter((d) => names.includes(d.name)) : history.drills;
  if (drills.length === 0) return undefined;
  return `Forecast — ${drills.map((d) => `${d.name}: ${describeForecast(drillForecast(d))}`).join('; ')}`;
}

/** How the latest monthly value compares with the one some months earlier. */
export interface RecentChange {
  readonly fromMonth: Month;
  readonly toMonth: Month;
  readonly fromSeconds: number;
  readonly toSeconds: number;
  /** Percent change; null when the earlier value is 0. */
  readonly percent: number | null;
  /** `↑` (grew by 1 % or more), `↓` (shrank by 1 % or more) or `→`. */
  readonly arrow: '↑' | '↓' | '→';
}

/**
 * Compares the latest monthly value with the latest one at least `months` months before it (or, with
 * less history, the first one). Null with fewer than two values.
 *
 * @example
 * recentChange(points); // { fromMonth: '2026-08', toMonth: '2026-11', percent: 12.5, arrow: '↑', … }
 */
export function recentChange(points: readonly MonthlyValue[], months = 3): RecentChange | null {
  const sorted = [...points].sort((a, b) => monthIndex(a.month) - monthIndex(b.month));
  const to = sorted.at(-1);
  if (!to || sorted.length < 2) return null;
  const before = sorted.filter((p) => monthIndex(p.month) <= monthIndex(to.month) - months).at(-1) ?? sorted[0]!;
  const percent = before.seconds === 0 ? null : ((to.seconds - before.seconds) / before.seconds) * 100;
  const delta = percent ?? (to.seconds > 0 ? 100 : 0);
  return {
    fromMonth: before.month,
    toMonth: to.month,
    fromSeconds: before.seconds,
    toSeconds: to.seconds,
    percent,
    arrow: delta >= 1 ? '↑' : delta <= -1 ? '↓' : '→',
  };
}

/**
 * One line for a {@link RecentChange}.
 *
 * @example
 * describeChange(change); // '↑ 12% from 2026-08 to 2026-11 (2m 30s → 2m 48s)'
 */
export function describeChange(change: RecentChange): string {
  const percent = change.percent === null ? '' : ` ${Math.abs(change.percent).toFixed(0)}%`;
  return (
    `${change.arrow}${percent} from ${change.fromMonth} to ${change.toMonth} ` +
    `(${formatDuration(change.fromSeconds)} → ${formatDuration(change.toSeconds)})`
  );
}

/**
 * The monthly longest restore of a drill, the series its trend and forecast are computed on.
 *
 * @example
 * recentChange(monthlyRestore(drill));
 */
export function monthlyRestore(drill: DrillHistory): MonthlyValue[] {
  return drill.months.flatMap((m) => (m.restore ? [{ month: m.month, seconds: m.restore.max }] : []));
}

function signed(seconds: number): string {
  return `${seconds < 0 ? '−' : '+'}${formatDuration(Math.abs(seconds))}`;
}
