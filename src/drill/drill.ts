import { relative } from 'node:path';
import { test } from 'vitest';
import { withInterruptSignal } from './interrupt.ts';
import { ConfigError } from '../errors.ts';
import { formatDuration } from '../util/duration.ts';
import type { CheckResult } from '../report/report-model.ts';
import { progressLineWriter } from '../cli/progress-protocol.ts';
import type { DrillOptions } from './drill-options.ts';
import { runDrill, type DrillBody, type DrillResult } from './run-drill.ts';

/** What a drill leaves on its Vitest test case (`testCase.meta().restoreDrill`) for the summary reporter. */
export interface DrillMeta {
  /** The drill's name, as in its report. */
  readonly name: string;
  readonly status: 'passed' | 'failed' | 'error';
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly reportPath: string;
  readonly markdownPath: string;
  readonly rto: { readonly actualSeconds: number | null; readonly targetSeconds: number | null; readonly met: boolean | null };
  readonly rpo: { readonly actualSeconds: number | null; readonly targetSeconds: number | null; readonly met: boolean | null; readonly basis: string | null };
  readonly restoreSeconds: number | null;
  readonly failedChecks: string[];
  /** Every check of the report (detail cut short), for JUnit XML and metrics. */
  readonly checks: ReadonlyArray<Pick<CheckResult, 'name' | 'status' | 'expected' | 'actual' | 'detail'>>;
  readonly error?: string;
}

/** How long a check's detail may be in {@link DrillMeta}: it travels from the worker to the summary. */
const META_DETAIL_CHARS = 500;

declare module 'vitest' {
  interface TaskMeta {
    restoreDrill?: DrillMeta;
  }
}

/**
 * Declares a drill: a Vitest test that restores the latest recovery point of `options.source` into a
 * disposable environment, verifies it against the markers, times it against the objectives, runs your
 * body's assertions on the restored data, and writes a signed report. The test fails when the drill does.
 *
 * @example
 * import { expect } from 'vitest';
 * import { drill, fileSource } from 'restore-drill';
 *
 * drill('shop restores from the latest dump', {
 *   source: fileSource('backups/'),
 *   objectives: { rto: '8h', rpo: '3h' },
 * }, async ({ db, check }) => {
 *   await check('every order has a customer', async () => {
 *     const { rows } = await db.query('select count(*)::int as n from orders where customer_id is null');
 *     expect(rows[0].n).toBe(0);
 *   });
 * });
 */
export function drill(name: string, options: DrillOptions, body?: DrillBody): void {
  test(name, async ({ task, signal: testSignal }) => {
    // Vitest aborts the test's signal when the run is cancelled (Ctrl-C in `restore-drill run`) or times
    // out; a signal sent to this worker directly counts too. Either way the drill stops its phase, writes
    // its signed `error` report and tears down.
    const run = (interrupt: AbortSignal) =>
      runDrill({
        ...options,
        name,
        file: relative(process.cwd(), task.file.filepath),
        body,
        signal: AbortSignal.any([interrupt, testSignal]),
        // `restore-drill run` on a terminal draws progress bars from these lines (see progress-protocol.ts).
        progress: progressLineWriter(name),
      });
    const result = await withInterruptSignal(run).catch((error: unknown) => {
      // Bad options: nothing started. Keep the class name (the summary reporter maps it to exit 2) and the hint.
      if (error instanceof ConfigError && error.hint) error.message = `${error.message} — ${error.hint}`;
      throw error;
    });
    task.meta.restoreDrill = toDrillMeta(result);
    if (result.status !== 'passed') {
      const reasons = result.report.error
        ? [`${result.report.error.phase} failed: ${result.report.error.message}`]
        : result.failedChecks.map((c) => `${c.name}: expected ${c.expected}, got ${c.actual}${c.detail ? ` (${c.detail})` : ''}`);
      const rto = result.report.objectives.rto.actualSeconds;
      throw new Error(
        `drill ${result.status}${rto !== null ? ` after ${formatDuration(rto)}` : ''}:\n  - ${reasons.join('\n  - ')}\n  report: ${result.markdownPath}`,
      );
    }
  });
}

/** The short form of a drill result that the summary reporter prints. */
export function toDrillMeta(result: DrillResult): DrillMeta {
  const restore = result.report.phases.find((p) => p.name === 'restore');
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
    failedChecks: result.failedChecks.map((c) => `${c.name}: expected ${c.expected}, got ${c.actual}${c.detail ? ` (${c.detail})` : ''}`),
    checks: result.report.checks.map(({ name, status, expected, actual, detail }) => ({
      name,
      status,
      expected,
      actual,
      ...(detail ? { detail: detail.length > META_DETAIL_CHARS ? `${detail.slice(0, META_DETAIL_CHARS - 1)}…` : detail } : {}),
    })),
    ...(result.report.error ? { error: `${result.report.error.phase}: ${result.report.error.message}` } : {}),
  };
}
