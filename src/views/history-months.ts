/** A calendar month in UTC, written `YYYY-MM`: the unit of history aggregates and forecasts. */
export type Month = string;

/**
 * The UTC month of an ISO 8601 time.
 *
 * @example
 * monthOf('2026-11-23T17:52:26.000Z'); // '2026-11'
 */
export function monthOf(iso: string): Month {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) throw new RangeError(`not a time: ${iso}`);
  return date.toISOString().slice(0, 7);
}

/**
 * A month as a count of months since year 0, so months can be subtracted and fitted on a line.
 *
 * @example
 * monthIndex('2027-01') - monthIndex('2026-11'); // 2
 */
export function monthIndex(month: Month): number {
  const match = /^(\d{4})-(\d{2})$/.exec(month);
  if (!match) throw new RangeError(`not a month (YYYY-MM): ${month}`);
  return Number(match[1]) * 12 + Number(match[2]) - 1;
}

/**
 * The month `count` months after `month` (before, when negative).
 *
 * @example
 * addMonths('2026-11', 3); // '2027-02'
 */
export function addMonths(month: Month, count: number): Month {
  const index = monthIndex(month) + count;
  const year = Math.floor(index / 12);
  return `${String(year).padStart(4, '0')}-${String((index % 12) + 1).padStart(2, '0')}`;
}

/**
 * Every month from `first` to `last`, both included.
 *
 * @example
 * monthRange('2026-11', '2027-01'); // ['2026-11', '2026-12', '2027-01']
 */
export function monthRange(first: Month, last: Month): Month[] {
  const count = monthIndex(last) - monthIndex(first);
  return Array.from({ length: Math.max(0, count + 1) }, (_, i) => addMonths(first, i));
}
