import type { LedgerHead } from '../model/ledger-head.ts';
import type { CheckResult, DrillReport, DrillStatus, PhaseName } from '../model/report.ts';
import type { Signer } from '../evidence/signer-interface.ts';
import type { DrillBody } from './drill-body.ts';
import type { DrillOptions } from './drill-options.ts';
import type { DrillSettings } from './drill-settings.ts';

/**
 * Everything `runDrill` needs: the drill's options plus its identity and body.
 *
 * @example
 * const result = await runDrill({ name: 'shop', source: fileSource('backups/'), objectives: { rto: '8h' } });
 */
export interface DrillRun extends DrillOptions {
  readonly name: string;
  /** The drill spec file, relative to the working directory (null for `restore-drill check`). */
  readonly file?: string | null;
  readonly body?: DrillBody;
  readonly signal?: AbortSignal;
  /** An already resolved signer (e.g. by the CLI before anything else started); default: from `signingKey`. */
  readonly signer?: Signer;
  /** Progress lines; default: printed to stderr with the drill's name. */
  readonly log?: (line: string) => void;
  /** Progress for a terminal display: each phase as it starts, and tables done of total in `restore` and `verify`. */
  readonly progress?: (event: DrillProgressEvent) => void;
  /**
   * The run's settings as the CLI resolved them (report directory, signing key, evidence store, cadence);
   * the drill's own options win over them. Unset ones default to the user's environment variables.
   */
  readonly settings?: DrillSettings;
}

/** What {@link DrillRun.progress} receives: the phase entered, or (with `done`/`total`) how far it is. */
export interface DrillProgressEvent {
  readonly phase: PhaseName;
  /** Tables restored (pg_restore's "processing data for table") or compared so far. */
  readonly done?: number;
  /** Tables with data in the dump's table of contents, or tables in the marker. */
  readonly total?: number;
}

/** The outcome of one drill run: a value, never an exception for a failed backup. */
export interface DrillResult {
  readonly status: DrillStatus;
  readonly report: DrillReport;
  /** The signed DSSE envelope. */
  readonly reportPath: string;
  readonly markdownPath: string;
  /** Checks that failed, for a short summary. */
  readonly failedChecks: CheckResult[];
  /** The report's position in its chain and its file's digest: the ledger head this run left. */
  readonly ledger: LedgerHead;
  /** The signal (SIGINT, SIGTERM) that interrupted the run, when one did: the CLI exits as a shell would for it. */
  readonly interruptedBy?: NodeJS.Signals;
}
