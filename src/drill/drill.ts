import { relative } from 'node:path';
import { inject, test } from 'vitest';
import { withInterruptSignal } from './interrupt.ts';
import { ConfigError } from '../errors.ts';
import { formatDuration } from '../util/duration.ts';
import { progressLineWriter } from './progress-protocol.ts';
import type { DrillOptions } from './drill-options.ts';
import { toDrillMeta } from './drill-meta.ts';
import { type DrillMeta } from '../model/drill-meta.ts';
import type { DrillSettings } from './drill-settings.ts';
import { runDrill, type DrillBody } from './run-drill.ts';

declare module 'vitest' {
  interface TaskMeta {
    restoreDrill?: DrillMeta;
  }
  interface ProvidedContext {
    /** The run's settings, provided by `restore-drill run` to its worker processes (absent under plain `vitest`). */
    restoreDrill?: DrillSettings;
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
    // What `restore-drill run` resolved (report directory, key, store, cadence), as values; under plain
    // `vitest` nothing is provided and the user's environment variables are the defaults.
    const settings = inject('restoreDrill') ?? {};
    const run = (interrupt: AbortSignal) =>
      runDrill({
        ...options,
        name,
        file: relative(process.cwd(), task.file.filepath),
        body,
        signal: AbortSignal.any([interrupt, testSignal]),
        // `restore-drill run` on a terminal draws progress bars from these lines (see progress-protocol.ts).
        settings,
        progress: progressLineWriter(name, settings.progressLines),
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
        : result.failedChecks.map(
            (c) => `${c.name}: expected ${c.expected}, got ${c.actual}${c.detail ? ` (${c.detail})` : ''}`,
          );
      const rto = result.report.objectives.rto.actualSeconds;
      throw new Error(
        `drill ${result.status}${rto !== null ? ` after ${formatDuration(rto)}` : ''}:\n  - ${reasons.join('\n  - ')}\n  report: ${result.markdownPath}`,
      );
    }
  });
}
