import type { CheckResult, DrillReport } from '../model/report.ts';

/** What every view says about a report signed with a demo key. */
export const DEMO_KEY_NOTE = 'demo key — not evidence';

/** One sentence for a view's top when a demo key signed the report. */
export const DEMO_KEY_EXPLAINED =
  'Signed with a demo key made on first use — not evidence: anyone could have made this key. Sign with your own key (RESTORE_DRILL_SIGNING_KEY) for reports an auditor can rely on.';

/**
 * Why a check failed, in one line: `name: expected E, got A — detail`.
 *
 * @example
 * failedCheckLine({ name: 'row count orders', status: 'failed', expected: 2000, actual: 1999 });
 * // 'row count orders: expected 2000, got 1999'
 */
export function failedCheckLine(check: Pick<CheckResult, 'name' | 'expected' | 'actual' | 'detail'>): string {
  const values =
    check.expected === null && check.actual === null
      ? ''
      : `: expected ${show(check.expected)}, got ${show(check.actual)}`;
  // A custom check's detail may only restate its values (`expected 0, received 3`): once is enough.
  const restated =
    check.detail?.replace(/"/g, '') === `expected ${show(check.expected)}, received ${show(check.actual)}`;
  return `${check.name}${values}${check.detail && !restated ? ` — ${check.detail}` : ''}`;
}

/**
 * What a view leads with for a report that did not pass: the harness error (where and why), then each failed
 * check with its reason, at most `max` of them and a count of the rest. Empty for a passed report.
 *
 * @example
 * failureLines(report, 5); // ['error in restore: pg_restore exited with code 1: …', 'row count orders: expected 2000, got 1999']
 */
export function failureLines(
  report: {
    readonly status: string;
    readonly error?: DrillReport['error'];
    readonly checks: ReadonlyArray<Pick<CheckResult, 'name' | 'status' | 'expected' | 'actual' | 'detail'>>;
  },
  max = Infinity,
): string[] {
  if (report.status === 'passed') return [];
  const failed = report.checks.filter((c) => c.status === 'failed');
  const lines = failed.slice(0, max).map(failedCheckLine);
  if (failed.length > max) lines.push(`… and ${failed.length - max} more failed check(s)`);
  if (report.error) lines.unshift(`error in ${report.error.phase}: ${report.error.message}`);
  return lines;
}

/** Whether a demo key signed the report (false for reports from before the field existed). */
export function signedWithDemoKey(report: Pick<DrillReport, 'signing'>): boolean {
  return report.signing?.demoKey === true;
}

/**
 * Checks in the order views list them: failed first, then skipped, then passed, each in report order.
 *
 * @example
 * failuresFirst(report.checks)[0].status; // 'failed' when any failed
 */
export function failuresFirst<T extends Pick<CheckResult, 'status'>>(checks: readonly T[]): T[] {
  const rank = { failed: 0, skipped: 1, passed: 2 } as const;
  return checks
    .map((c, i) => [c, i] as const)
    .sort(([a, i], [b, j]) => (rank[a.status] ?? 3) - (rank[b.status] ?? 3) || i - j)
    .map(([c]) => c);
}

function show(value: string | number | boolean | null): string {
  return value === null ? '—' : String(value);
}
