import { describe, expect, it } from 'vitest';
import {
  describeChange,
  describeForecast,
  fitTrend,
  forecastRestore,
  recentChange,
  trendAt,
  type MonthlyValue,
} from './forecast.ts';
import { addMonths } from './history-months.ts';

/** Monthly values from `first`, one per month; null leaves a month out. */
function series(first: string, values: readonly (number | null)[]): MonthlyValue[] {
  return values.flatMap((seconds, i) => (seconds === null ? [] : [{ month: addMonths(first, i), seconds }]));
}

describe('fitTrend', () => {
  it('fits an exact line exactly', () => {
    const trend = fitTrend(series('2026-01', [100, 110, 120, 130]))!;
    expect(trend.slopeSecondsPerMonth).toBeCloseTo(10, 10);
    expect(trend.interceptSeconds).toBeCloseTo(100, 10);
    expect(trend).toMatchObject({ firstMonth: '2026-01', lastMonth: '2026-04', points: 4 });
    expect(trend.growthPercentPerMonth).toBeCloseTo((10 / 130) * 100, 10);
    expect(trendAt(trend, '2026-12')).toBeCloseTo(210, 10);
  });

  it('counts missing months as time passing, and ignores input order', () => {
    // 100 in January, 130 in April, 160 in July: 10 s per month, not 30 s per point.
    const trend = fitTrend([
      { month: '2026-07', seconds: 160 },
      { month: '2026-01', seconds: 100 },
      { month: '2026-04', seconds: 130 },
    ])!;
    expect(trend.slopeSecondsPerMonth).toBeCloseTo(10, 10);
    expect(trend.firstMonth).toBe('2026-01');
  });

  it('is the least-squares line through noisy values', () => {
    // x = 0..3, y = 1, 3, 2, 4: slope = Σ(x−x̄)(y−ȳ) / Σ(x−x̄)² = 4 / 5 = 0.8, intercept = 2.5 − 0.8 × 1.5 = 1.3.
    const trend = fitTrend(series('2026-01', [1, 3, 2, 4]))!;
    expect(trend.slopeSecondsPerMonth).toBeCloseTo(0.8, 10);
    expect(trend.interceptSeconds).toBeCloseTo(1.3, 10);
  });

  it('needs three months', () => {
    expect(fitTrend(series('2026-01', [100, 200]))).toBeNull();
    expect(fitTrend([])).toBeNull();
  });
});

describe('forecastRestore', () => {
  it('names the first month the fitted restore time reaches the RTO', () => {
    // 100 s in Jan 2026 growing 50 s/month; RTO 900 s reached at x = 16, i.e. May 2027, 13 months after Apr 2026.
    const forecast = forecastRestore({ points: series('2026-01', [100, 150, 200, 250]), rtoTargetSeconds: 900 });
    expect(forecast).toMatchObject({ kind: 'breach', month: '2027-05', monthsAhead: 13, rtoTargetSeconds: 900 });
    expect(describeForecast(forecast)).toBe(
      'restore time grows 50s/month (+20.0%/month over 4 months); at this rate the RTO of 15m 00s is reached in 2027-05 (in 13 months)',
    );
  });

  it('counts the rest of the RTO clock against the target', () => {
    // The same growth with 100 s of locate, provision and verify: the limit for restore is 800 s, reached at x = 14.
    const forecast = forecastRestore({
      points: series('2026-01', [100, 150, 200, 250]),
      rtoTargetSeconds: 900,
      overheadSeconds: 100,
    });
    expect(forecast).toMatchObject({ kind: 'breach', month: '2027-03', monthsAhead: 11 });
  });

  it('rounds a crossing between months up to the month it happens in', () => {
    // 10 s/month from 100 s: 125 s is passed during month x = 2.5, so the first month at or over it is x = 3.
    const forecast = forecastRestore({ points: series('2026-01', [100, 110, 120]), rtoTargetSeconds: 125 });
    expect(forecast).toMatchObject({ kind: 'breach', month: '2026-04', monthsAhead: 1 });
    expect(describeForecast(forecast)).toMatch(/reached in 2026-04 \(in 1 month\)$/);
  });

  it('says when the trend already reaches the RTO', () => {
    const forecast = forecastRestore({ points: series('2026-01', [800, 900, 1000]), rtoTargetSeconds: 900 });
    expect(forecast).toMatchObject({ kind: 'breach', month: '2026-03', monthsAhead: 0 });
    expect(describeForecast(forecast)).toMatch(/; at this rate the RTO of 15m 00s is already reached \(2026-03\)$/);
  });

  it('looks five years ahead and no further', () => {
    // 1 s/month from 100 s: 900 s is 800 months away.
    const slow = forecastRestore({ points: series('2026-01', [100, 101, 102]), rtoTargetSeconds: 900 });
    expect(slow.kind).toBe('not-within-horizon');
    expect(describeForecast(slow)).toMatch(/; at this rate the RTO of 15m 00s is not reached within 5 years$/);
    // 60 months after the last month is still inside the horizon.
    const edge = forecastRestore({ points: series('2026-01', [100, 101, 102]), rtoTargetSeconds: 162 });
    expect(edge).toMatchObject({ kind: 'breach', monthsAhead: 60, month: '2031-03' });
  });

  it('says when restore time is not growing', () => {
    const flat = forecastRestore({ points: series('2026-01', [300, 300, 300]), rtoTargetSeconds: 900 });
    expect(flat.kind).toBe('not-growing');
    const shrinking = forecastRestore({ points: series('2026-01', [300, 290, 280, 270]), rtoTargetSeconds: 900 });
    expect(describeForecast(shrinking)).toBe('restore time is not growing (−10s/month over 4 months)');
  });

  it('says there is no target to forecast against', () => {
    const forecast = forecastRestore({ points: series('2026-01', [100, 150, 200]), rtoTargetSeconds: null });
    expect(forecast.kind).toBe('no-target');
    expect(describeForecast(forecast)).toMatch(
      /^restore time grows 50s\/month .*; no RTO target to forecast a breach against$/,
    );
  });

  it('says there is not enough history with fewer than three months', () => {
    const forecast = forecastRestore({ points: series('2026-01', [100, 400]), rtoTargetSeconds: 900 });
    expect(forecast).toEqual({ kind: 'not-enough-history', months: 2 });
    expect(describeForecast(forecast)).toBe(
      'not enough history for a forecast: restore times from 2 months, at least 3 needed',
    );
    expect(describeForecast(forecastRestore({ points: series('2026-01', [100]), rtoTargetSeconds: 900 }))).toMatch(
      /from 1 month,/,
    );
  });
});

describe('recentChange', () => {
  it('compares the latest month with the one three months before', () => {
    const change = recentChange(series('2026-01', [100, 120, 150, 160, 180]))!;
    expect(change).toMatchObject({
      fromMonth: '2026-02',
      toMonth: '2026-05',
      fromSeconds: 120,
      toSeconds: 180,
      arrow: '↑',
    });
    expect(change.percent).toBeCloseTo(50, 10);
    expect(describeChange(change)).toBe('↑ 50% from 2026-02 to 2026-05 (2m 00s → 3m 00s)');
  });

  it('uses the latest month at least three months back when months are missing, else the first', () => {
    expect(recentChange(series('2026-01', [200, null, null, null, null, 150]))).toMatchObject({
      fromMonth: '2026-01',
      arrow: '↓',
    });
    expect(recentChange(series('2026-01', [200, 202]))).toMatchObject({ fromMonth: '2026-01', arrow: '↑' });
    expect(recentChange(series('2026-01', [200, 201]))).toMatchObject({ arrow: '→' });
    expect(recentChange(series('2026-01', [200]))).toBeNull();
  });
});
