import type { NotVerified, NotVerifiedReason } from '../model/report.ts';

/** How each reason reads as the start of a line, in the order the lines are listed. */
const HEADINGS: ReadonlyArray<readonly [NotVerifiedReason, string]> = [
  ['not-restored', 'not restored'],
  ['not-compared', 'not compared'],
  ['no-marker', 'tables without a marker'],
  ['count-only', 'tables compared by row count only'],
  ['over-budget', 'key ranges left to later runs by the verification budget (row count compared)'],
  ['not-fingerprinted', 'objects not fingerprinted'],
  ['cluster-wide', 'cluster-wide, not compared'],
];

/** How many names one line shows before "and N more". */
const MAX_NAMES = 8;

/** What a view says for a report written before reports listed what they did not verify. */
export const NOT_VERIFIED_UNKNOWN = 'not recorded (this report predates the list of what was not verified)';

/**
 * A report's not-verified list as short lines, one per reason: `tables without a marker (3): public.a, …`.
 * `undefined` (a report written before the list existed) gives {@link NOT_VERIFIED_UNKNOWN}; an empty list
 * gives no line.
 *
 * @example
 * summarizeNotVerified(report.notVerified); // ['tables compared by row count only (1): public.customers', …]
 */
export function summarizeNotVerified(items: readonly NotVerified[] | undefined): string[] {
  if (items === undefined) return [NOT_VERIFIED_UNKNOWN];
  const lines: string[] = [];
  for (const [reason, heading] of HEADINGS) {
    const names = items.filter((item) => item.reason === reason).map((item) => item.name);
    if (names.length === 0) continue;
    const shown =
      names.slice(0, MAX_NAMES).join(', ') + (names.length > MAX_NAMES ? `, and ${names.length - MAX_NAMES} more` : '');
    lines.push(
      reason === 'no-marker' || reason === 'count-only' || reason === 'over-budget'
        ? `${heading} (${names.length}): ${shown}`
        : `${heading}: ${shown}`,
    );
  }
  // A reason added later still shows, under its own name.
  for (const item of items)
    if (!HEADINGS.some(([reason]) => reason === item.reason)) lines.push(`${item.reason}: ${item.name}`);
  return lines;
}
