import { describe, expect, it } from 'vitest';
import { addMonths, monthIndex, monthOf, monthRange } from './history-months.ts';

describe('months', () => {
  it('takes the UTC month of a time, not the local one', () => {
    expect(monthOf('2026-11-30T23:30:00.000-02:00')).toBe('2026-12');
    expect(monthOf('2026-01-01T00:00:00Z')).toBe('2026-01');
    expect(() => monthOf('yesterday')).toThrow('not a time: yesterday');
  });

  it('counts and adds months across year ends', () => {
    expect(monthIndex('2027-01') - monthIndex('2026-11')).toBe(2);
    expect(addMonths('2026-11', 3)).toBe('2027-02');
    expect(addMonths('2026-01', -1)).toBe('2025-12');
    expect(addMonths('2026-06', 60)).toBe('2031-06');
    expect(monthRange('2026-11', '2027-01')).toEqual(['2026-11', '2026-12', '2027-01']);
    expect(monthRange('2026-11', '2026-10')).toEqual([]);
    expect(() => monthIndex('2026-1')).toThrow('not a month (YYYY-MM): 2026-1');
  });
});
