import type { BudgetCoverage, VerificationCoverage } from '../model/report.ts';
import { formatDuration } from '../util/duration.ts';

/**
 * The words every view puts after a status when the checksums covered only part of the data this run, e.g.
 * `partly verified: 25.0 % of rows checksummed (verification budget 30m)`; null when everything was
 * checksummed (or no budget applied). A budgeted pass must never read as a full one.
 *
 * @example
 * partlyVerified(report.verification); // 'partly verified: 25.0 % of rows checksummed (verification budget 30m)'
 */
export function partlyVerified(verification: VerificationCoverage | undefined): string | null {
  const partial = verification?.coverage.filter((c) => c.mode === 'budgeted') ?? [];
  if (!verification || partial.length === 0) return null;
  const rows = sum(verification.coverage, (c) => c.rows.checked);
  const total = sum(verification.coverage, (c) => c.rows.total);
  return `partly verified: ${percent(total === 0 ? 1 : rows / total)} of rows checksummed (verification budget ${formatDuration(verification.budgetSeconds)})`;
}

/**
 * What a budgeted verification covered, as lines for people: per marker, the key ranges and rows checksummed
 * this run and the share over the last runs, then where the rotation's history came from. No lines without a
 * budget.
 *
 * @example
 * describeVerification(report.verification);
 * // ['manifest: 5 of 20 key ranges (1250 of 5000 rows, 25.0 %) checksummed this run; 100.0 % over the last 4 runs', …]
 */
export function describeVerification(verification: VerificationCoverage | undefined): string[] {
  if (!verification) return [];
  const lines = verification.coverage.map(coverageLine);
  lines.push(
    `Budget ${formatDuration(verification.budgetSeconds)}; every table's row count was compared. Earlier runs: ${verification.history}.`,
  );
  return lines;
}

function coverageLine(c: BudgetCoverage): string {
  const ranges = `${c.ranges.checked} of ${c.ranges.total} key ranges (${c.rows.checked} of ${c.rows.total} rows, ${percent(c.shareThisRun)})`;
  if (c.mode === 'full') return `${c.label}: the whole checksum fitted the budget: ${ranges} checksummed`;
  return `${c.label}: ${ranges} checksummed this run; ${percent(c.shareOverRuns)} over the last ${c.runs} run(s); the rest compared by row count only`;
}

/** A share as a percentage rounded down, so 99.96 % never reads as 100.0 %. */
function percent(share: number): string {
  return `${(Math.floor(share * 1000) / 10).toFixed(1)} %`;
}

function sum(items: readonly BudgetCoverage[], value: (c: BudgetCoverage) => number): number {
  return items.reduce((total, item) => total + value(item), 0);
}
