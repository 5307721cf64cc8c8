/** Version of the report predicate schema; bumped on any incompatible change. See docs/report-schema.md. */
export const REPORT_PREDICATE_TYPE = 'https://restore-drill.dev/report/v1';

/** The run phases, in order. `report` and `teardown` are timed but outside the RTO clock. */
export type PhaseName = 'locate' | 'provision' | 'restore' | 'verify' | 'report' | 'teardown';

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

/** Where the achieved RPO's recovery point time came from. */
export type RpoBasis = 'marker' | 'manifest' | 'metadata';

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
  /** What the drill could not verify, one line each (e.g. roles, which a database dump does not carry). Absent in older reports. */
  readonly notVerified?: string[];
  /** Checksum algorithms used, e.g. [`rdsum-text-md5/1`]. */
  readonly algorithms: string[];
  /** `sha256:<hex>` of the previous report file in the same directory (the ledger), or null for the first. */
  readonly previous: string | null;
}
