import { describe, expect, it } from 'vitest';
import { findStaleDrills } from './staleness.ts';

const report = (drill: string, finishedAt: string, cadence: string | null) => ({
  drill,
  finishedAt,
  cadence,
  file: `${finishedAt}-${drill}.report.json`,
});
const week = 7 * 86400;

describe('findStaleDrills', () => {
  it('judges each drill by its newest report: cadence plus grace, to the second', () => {
    const reports = [
      report('orders', '2026-08-01T00:00:00.000Z', '1mo'),
      report('billing', '2026-09-01T00:00:00.000Z', '1mo'),
      report('orders', '2026-09-01T00:00:00.000Z', '1mo'),
    ];
    // 2026-09-01 + 30 days + 7 days = 2026-10-08T00:00:00Z
    expect(findStaleDrills(reports, { now: new Date('2026-10-08T00:00:00Z'), graceSeconds: week }).stale).toEqual([]);
    const { stale } = findStaleDrills(reports, { now: new Date('2026-10-08T00:00:01Z'), graceSeconds: week });
    expect(stale).toEqual([
      {
        drill: 'billing',
        file: '2026-09-01T00:00:00.000Z-billing.report.json',
        finishedAt: '2026-09-01T00:00:00.000Z',
        cadence: '1mo',
        dueBy: '2026-10-08T00:00:00.000Z',
      },
      {
        drill: 'orders',
        file: '2026-09-01T00:00:00.000Z-orders.report.json',
        finishedAt: '2026-09-01T00:00:00.000Z',
        cadence: '1mo',
        dueBy: '2026-10-08T00:00:00.000Z',
      },
    ]);
  });

  it('does not judge a drill whose newest report declares no cadence (or an unreadable one), and lists it', () => {
    const result = findStaleDrills(
      [
        report('orders', '2020-01-01T00:00:00Z', '1mo'),
        report('orders', '2020-02-01T00:00:00Z', null),
        report('x', '2020-01-01T00:00:00Z', 'often'),
      ],
      {
        now: new Date('2026-01-01T00:00:00Z'),
        graceSeconds: week,
      },
    );
    expect(result).toEqual({ stale: [], undeclared: ['orders', 'x'] });
  });
});
