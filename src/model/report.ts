/** Version of the report predicate schema; bumped on any incompatible change. See docs/report-schema.md. */
export const REPORT_PREDICATE_TYPE = 'https://restore-drill.dev/report/v1';

/** The run phases, in order. `report` and `teardown` are timed but outside the RTO clock. */
export type PhaseName = 'locate' | 'thaw' | 'provision' | 'restore' | 'replay' | 'verify' | 'report' | 'teardown';

export type CheckStatus = 'passed' | 'failed' | 'skipped';
export type DrillStatus = 'passed' | 'failed' | 'error';

/** One verification with an expected and an actual value. A failed check is data, not an exception. */
export interface CheckResult {
  readonly name: string;
  readonly status: CheckStatus;
  readonly expected: string | number | boolean | null;
  readonly actual: string | number | boolean | null;
  readonly table?: string;
  /** Why it failed or was skipped, e.g. the key range that differs. */
  readonly detail?: string;
  /** The SQL statements a custom check (`check(name, fn)` in a drill body) ran, in order. */
  readonly queries?: string[];
}

export interface PhaseTiming {
  readonly name: PhaseName;
  readonly startedAt: string;
  readonly seconds: number;
  readonly status: 'ok' | 'failed' | 'interrupted';
}

export interface ObjectiveResult {
  readonly targetSeconds: number | null;
  readonly actualSeconds: number | null;
  /** `null` when there was no target or nothing could be measured. */
  readonly met: boolean | null;
}

/**
 * Why something was not verified:
 * - `no-marker`: a table in the restored copy that no marker or manifest describes (nothing to compare it with);
 * - `count-only`: a table whose markers are in `count` mode: only its row count was compared, within a tolerance;
 * - `not-fingerprinted`: schema objects beside table rows (functions, views, triggers, …) that no fingerprint
 *   describes, so their restored definitions were not compared;
 * - `cluster-wide`: what a database restore cannot carry or compare (roles, tablespaces);
 * - `not-restored`: a policy-only drill (`restore: false`): the recovery point was listed, not restored;
 * - `not-compared`: a step before `verify` failed, so nothing in the restored copy was compared;
 * - `over-budget`: a table whose row count was compared but some of whose key ranges were not checksummed this
 *   run, under the verification budget (`verify: { budget }`); later runs checksum them in turn.
 */
export type NotVerifiedReason =
  | 'no-marker'
  | 'count-only'
  | 'not-fingerprinted'
  | 'cluster-wide'
  | 'not-restored'
  | 'not-compared'
  | 'stand-in'
  | 'unreadable'
  | 'declared-missing'
  | 'not-sandboxed'
  | 'over-budget';

/** One thing a drill did not verify: a report lists them so a pass never claims more than was checked. */
export interface NotVerified {
  /** What it is: a `table`, schema `objects`, `cluster`-wide things, or the whole `database`. */
  readonly kind: 'table' | 'objects' | 'cluster' | 'database';
  /** e.g. `public.audit_log`, `functions, views, triggers`, `roles, tablespaces`. */
  readonly name: string;
  readonly reason: NotVerifiedReason;
  /** One line for people: why, and what would verify it. */
  readonly detail: string;
}

/** What one budgeted comparison with a marker or manifest checksummed (see `verify/verify-budget.ts`). */
export interface BudgetCoverage {
  /** The marker it compared with: `manifest` or `marker #<id>`. */
  readonly label: string;
  /** `full`: the whole checksum fitted the budget and ran; `budgeted`: only `covered` was checksummed. */
  readonly mode: 'full' | 'budgeted';
  readonly budgetSeconds: number;
  /**
   * The portable range checksum's speed the plan used, rows per second (measured on this machine unless the
   * drill gave one); null when there were no rows to checksum.
   */
  readonly rowsPerSecond: number | null;
  /** Key ranges checksummed this run, as `<table>#<bucket>@<layout>`: the next run's rotation reads them here. */
  readonly covered: string[];
  /** Key ranges checksummed this run, of all the marker's key ranges. */
  readonly ranges: { readonly checked: number; readonly total: number };
  /** Rows in the ranges checksummed this run, of all rows of tables with key ranges. */
  readonly rows: { readonly checked: number; readonly total: number };
  /** Share of those rows checksummed this run, 0–1. */
  readonly shareThisRun: number;
  /** Share checksummed by this run or one of the `runs - 1` runs before it (same layout only), 0–1. */
  readonly shareOverRuns: number;
  /** How many runs `shareOverRuns` is over: this one and the earlier signed reports it read. */
  readonly runs: number;
}

/** Verification under a time budget: what this run checksummed, and where the rotation's history came from. */
export interface VerificationCoverage {
  readonly budgetSeconds: number;
  /** One per marker or manifest compared. */
  readonly coverage: BudgetCoverage[];
  /** Where the earlier runs' ranges came from, e.g. `3 earlier signed reports of this drill` or why none. */
  readonly history: string;
}

/** Where the achieved RPO's recovery point time came from. */
/** `wal-replay`: the last commit a point-in-time restore replayed, as the server logged it. */
export type RpoBasis = 'marker' | 'manifest' | 'metadata' | 'wal-replay';

/**
 * The time limit a drill ran under, past which it stops with an `error` report: its own `timeLimit`, twice its
 * RTO (at least 1h), or the 6h `default`.
 */
export interface TimeLimit {
  readonly seconds: number;
  readonly basis: 'timeLimit' | 'rto' | 'default';
}

/** The predicate of the signed in-toto statement: everything one drill run found. */
export interface DrillReport {
  readonly schema: 'restore-drill.report/v1';
  readonly runId: string;
  readonly tool: { readonly name: 'restore-drill'; readonly version: string };
  readonly drill: { readonly name: string; readonly file: string | null };
  /** Compliance controls the drill evidences, e.g. `SOC2-A1.2` (empty when none are declared). */
  readonly controls: string[];
  readonly status: DrillStatus;
  /** Present when status is `error` (or a phase failed): where and why. */
  readonly error?: { readonly phase: PhaseName; readonly message: string };
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly recoveryPoint: {
    readonly source: string;
    readonly id: string;
    readonly createdAt: string;
    readonly createdAtBasis: string;
    readonly markerAt: string | null;
    readonly digest: string | null;
    readonly facts: Record<string, string | number | boolean | null>;
  } | null;
  readonly environment: {
    readonly kind: string;
    readonly version: string | null;
    /** What the environment reports about itself, e.g. an RDS instance's class, subnet group and security groups. */
    readonly facts?: Record<string, string | number | boolean | null>;
  } | null;
  readonly phases: PhaseTiming[];
  readonly objectives: {
    readonly rto: ObjectiveResult;
    readonly rpo: ObjectiveResult & { readonly basis: RpoBasis | null };
  };
  readonly checks: CheckResult[];
  /**
   * What was not verified (tables without markers, tables compared by count only, objects not fingerprinted…).
   * Absent in reports written before it was added: read it as unknown, not as "everything verified".
   */
  readonly notVerified?: NotVerified[];
  /**
   * Present when the drill verified under a time budget (`verify: { budget }`): what share was checksummed this
   * run and over the last runs. Tables with ranges left out are also in `notVerified` (`over-budget`).
   */
  readonly verification?: VerificationCoverage;
  /** Checksum algorithms used, e.g. [`rdsum-text-md5/1`]. */
  readonly algorithms: string[];
  /**
   * How the report was signed. `demoKey: true`: with a demo key made on first use, so the report is
   * "demo key — not evidence" in every view and counts for no control. Absent in reports written before
   * this field existed.
   */
  readonly signing?: { readonly demoKey: boolean };
  /** `sha256:<hex>` of the previous report file in the same directory (the ledger), or null for the first. */
  readonly previous: string | null;
  /**
   * Where this report stands in its chain: 1 for the first, one more than `previous`'s position after it.
   * With it a verifier can tell how many reports are missing, also at the start. Absent in older reports.
   */
  readonly position?: number;
  /** The file name this report was written as (`<UTC time>-<drill slug>.report.json`), so a rename shows. Absent in older reports. */
  readonly reportFile?: string;
  /** How often the drill is meant to run, e.g. `1mo`; null when not declared. A drill whose newest report is older than this plus a grace is stale. */
  readonly cadence?: string | null;
  /** The time limit the drill ran under and where it came from. Absent in reports written before it was added. */
  readonly timeLimit?: TimeLimit;
}

/** The fields the report writer fills in when it places a report in its ledger. */
export type LedgerFields = 'previous' | 'position' | 'reportFile';
