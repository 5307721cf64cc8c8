// Kept apart from drill.ts, which loads Vitest: `restore-drill check` needs this without it.
import { summarizeNotVerified } from '../views/not-verified-text.ts';
import { partlyVerified } from '../views/verification-coverage-text.ts';
import type { DrillMeta } from '../model/drill-meta.ts';
import type { DrillResult } from './run-drill.ts';

/** How long a check's detail may be in {@link DrillMeta}: it travels from the worker to the summary. */
const META_DETAIL_CHARS = 500;

/** The short form of a drill result that the summary reporter prints. */
export function toDrillMeta(result: DrillResult): DrillMeta {
  const restore = result.report.phases.find((p) => p.name === 'restore');
  const partly = partlyVerified(result.report.verification);
  return {
    name: result.report.drill.name,
    status: result.status,
    startedAt: result.report.startedAt,
    finishedAt: result.report.finishedAt,
    reportPath: result.reportPath,
    markdownPath: result.markdownPath,
    rto: result.report.objectives.rto,
    rpo: result.report.objectives.rpo,
    restoreSeconds: restore?.seconds ?? null,
    failedChecks: result.failedChecks.map(
      (c) => `${c.name}: expected ${c.expected}, got ${c.actual}${c.detail ? ` (${c.detail})` : ''}`,
    ),
    checks: result.report.checks.map(({ name, status, expected, actual, detail }) => ({
      name,
      status,
      expected,
      actual,
      ...(detail
        ? { detail: detail.length > META_DETAIL_CHARS ? `${detail.slice(0, META_DETAIL_CHARS - 1)}…` : detail }
        : {}),
    })),
    ledger: result.ledger,
    ...(result.report.error ? { error: `${result.report.error.phase}: ${result.report.error.message}` } : {}),
    notVerified: summarizeNotVerified(result.report.notVerified),
    ...(partly ? { partlyVerified: partly } : {}),
    ...(result.report.signing?.demoKey ? { demoKey: true } : {}),
  };
}
