import { basename } from 'node:path';
import type { DrillReport, LedgerFields } from '../../model/report.ts';
import type { DrillResult } from '../drill-run.ts';
import { writeReport } from '../report-writer.ts';
import type { DrillSetup } from '../run-setup.ts';

/**
 * `report`: signs the built report, chains it in the ledger and writes it (and appends it to the evidence
 * store); the run's result points at the files written.
 */
export async function report(setup: DrillSetup, built: Omit<DrillReport, LedgerFields>): Promise<DrillResult> {
  const { reportDir, key, evidence, log, progress } = setup;
  progress({ phase: 'report' });
  const written = await writeReport({ report: built, reportDir, key, evidence });
  log(
    `report: ${built.status} — ${written.markdownPath}${evidence ? ` (and ${evidence.uri}, position ${written.head.position})` : ''}`,
  );
  return {
    status: built.status,
    report: {
      ...built,
      signing: { demoKey: key.demo === true },
      previous: written.previous,
      position: written.head.position,
      reportFile: basename(written.jsonPath),
    },
    reportPath: written.jsonPath,
    markdownPath: written.markdownPath,
    failedChecks: built.checks.filter((c) => c.status === 'failed'),
    ledger: written.head,
  };
}
