import type { LedgerHead } from './ledger-head.ts';
import type { CheckResult } from './report.ts';

/** What a drill leaves on its Vitest test case (`testCase.meta().restoreDrill`) for the summary reporter. */
export interface DrillMeta {
  /** The drill's name, as in its report. */
  readonly name: string;
  readonly status: 'passed' | 'failed' | 'error';
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly reportPath: string;
  readonly markdownPath: string;
  readonly rto: {
    readonly actualSeconds: number | null;
    readonly targetSeconds: number | null;
    readonly met: boolean | null;
  };
  readonly rpo: {
    readonly actualSeconds: number | null;
    readonly targetSeconds: number | null;
    readonly met: boolean | null;
    readonly basis: string | null;
  };
  readonly restoreSeconds: number | null;
  readonly failedChecks: string[];
  /** Every check of the report (detail cut short), for JUnit XML and metrics. */
  readonly checks: ReadonlyArray<Pick<CheckResult, 'name' | 'status' | 'expected' | 'actual' | 'detail'>>;
  readonly error?: string;
  /** What the drill did not verify, one short line per reason (see `summarizeNotVerified`). */
  readonly notVerified?: string[];
  /** Under a verification budget that checksummed part of the data: what every view appends to the status. */
  readonly partlyVerified?: string;
  /** The report's position in its chain and its file's digest (absent from results of older workers). */
  readonly ledger?: LedgerHead;
  /** Signed with a demo key: "demo key — not evidence" wherever the drill is shown. */
  readonly demoKey?: boolean;
}
