import { describe, expect, it } from 'vitest';
import { fitTrend } from '../forecast.ts';
import { monthlyChart, phaseTimeline } from './svg-charts.ts';

const count = (svg: string, pattern: RegExp) => (svg.match(pattern) ?? []).length;

describe('monthlyChart', () => {
  it('places one point per value on a month axis that keeps gaps, with marks and a target', () => {
    const svg = monthlyChart({
      title: 'Longest restore per month',
      kind: 'restore',
      points: [
        { month: '2026-01', seconds: 100 },
        { month: '2026-04', seconds: 160 },
      ],
      runs: [
        { month: '2026-01', status: 'passed', label: 'a' },
        { month: '2026-02', status: 'failed', label: 'b' },
        { month: '2026-04', status: 'passed', label: 'c' },
      ],
      target: { seconds: 900, label: 'RTO' },
    });
    expect(count(svg, /<circle class="point /g)).toBe(2);
    expect(count(svg, /<g class="mark /g)).toBe(3);
    expect(count(svg, /class="tick" x="[\d.]+" y="186" text-anchor="middle">2026-0\d</g)).toBe(4);
    expect(svg).toContain('<text class="target-label"');
    expect(svg).not.toMatch(/NaN|Infinity|undefined/);
    // January and April are a quarter of the axis apart per month: x grows with the month, not the index.
    const xs = [...svg.matchAll(/<circle class="point \w+" cx="([\d.]+)"/g)].map((m) => Number(m[1]));
    expect(xs[1]! - xs[0]!).toBeCloseTo(3 * ((700 - 70) / 4), 0);
  });

  it('extends the axis into the forecast and draws the trend and the breach month', () => {
    const points = [100, 150, 200].map((seconds, i) => ({ month: `2026-0${i + 1}`, seconds }));
    const svg = monthlyChart({
      title: 't',
      kind: 'restore',
      points,
      trend: fitTrend(points),
      extendTo: '2026-12',
      breach: { month: '2026-12', label: 'RTO reached 2026-12' },
      target: { seconds: 600, label: 'RTO' },
    });
    expect(svg).toContain('<rect class="forecast-area"');
    expect(count(svg, /<line class="trend"/g)).toBe(1);
    expect(svg).toContain('data-month="2026-12"');
    expect(svg).not.toMatch(/NaN|Infinity|undefined/);
  });

  it('says there is no data instead of drawing an empty chart, and draws a single month', () => {
    expect(monthlyChart({ title: 'RPO', kind: 'rpo', points: [] })).toBe('<p class="empty">RPO: no data yet.</p>');
    const one = monthlyChart({ title: 'x', kind: 'rpo', points: [{ month: '2026-01', seconds: 0 }] });
    expect(count(one, /<circle class="point /g)).toBe(1);
    expect(one).not.toMatch(/NaN|Infinity/);
  });
});

describe('phaseTimeline', () => {
  it('draws one bar per phase, placed at its start, at least 2 px wide', () => {
    const svg = phaseTimeline([
      { name: 'locate', startedAt: '2026-01-01T00:00:00.000Z', seconds: 0, status: 'ok' },
      { name: 'restore', startedAt: '2026-01-01T00:00:00.000Z', seconds: 100, status: 'failed' },
    ]);
    expect(count(svg, /<rect class="phase /g)).toBe(2);
    expect(svg).toContain('<rect class="phase phase-failed" x="100" y="40" width="510"');
    expect(svg).toMatch(/<rect class="phase phase-ok" x="100" y="12" width="2"/);
    expect(phaseTimeline([])).toBe('<p class="empty">No phase was timed.</p>');
  });
});
