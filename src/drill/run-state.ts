import type { StartedEnvironment } from '../environments/environment.ts';
import type { RecoveryPoint, Restorable } from '../model/recovery-point.ts';
import type { CheckResult, NotVerified, PhaseName, RpoBasis, VerificationCoverage } from '../model/report.ts';

/** The newest trusted evidence of the data's time in the restored copy: what the achieved RPO is measured from. */
export interface DataTime {
  readonly basis: RpoBasis;
  /** ISO time of the marker or manifest. */
  readonly at: string;
  /** Names it in the RPO check's detail, e.g. `marker #3` or `the dump's manifest`. */
  readonly label: string;
}

/** The phase that failed (or was interrupted) and what it threw. Later phases do not run. */
export interface PhaseFailure {
  readonly phase: PhaseName;
  readonly error: unknown;
}

/**
 * What the phases found, as plain values: everything {@link buildReport} needs from them. A failed phase
 * contributes what it found before it failed.
 */
export interface Findings {
  /** Checks in the order they ran. */
  readonly checks: readonly CheckResult[];
  readonly notVerified: readonly NotVerified[];
  /** Checksum algorithms used by the comparisons. */
  readonly algorithms: readonly string[];
  /** The recovery point `locate` picked. */
  readonly point?: RecoveryPoint;
  /** Set by `verify` when a trusted marker or manifest dates the data; without it the RPO uses the point's creation time. */
  readonly dataTime?: DataTime;
  /** Set by `verify` under a verification budget: what was checksummed this run and over the last runs. */
  readonly verification?: VerificationCoverage;
  /** Whether the drill's body started (its checks are `skipped` when a phase failed before it). */
  readonly bodyStarted: boolean;
  readonly failure?: PhaseFailure;
}

/**
 * The state of one run between phases: an immutable value, replaced (never changed) by each phase.
 * Beside the findings it carries what later phases work on: the fetched recovery point and the started
 * environment.
 */
export interface RunState extends Findings {
  readonly restorable?: Restorable;
  readonly env?: StartedEnvironment;
}

/** The state before `locate`: nothing found yet. */
export const INITIAL_STATE: RunState = Object.freeze({
  checks: [],
  notVerified: [],
  algorithms: [],
  bodyStarted: false,
});

/**
 * The recovery point, what was fetched of it and the started environment, for the phases that need all
 * three (`restore`, `verify`). A phase runs only after the ones before it succeeded, so a missing one is a
 * bug in the pipeline, not a problem of the backup.
 */
export function provisioned(state: RunState): Required<Pick<RunState, 'point' | 'restorable' | 'env'>> {
  const { point, restorable, env } = state;
  if (!point || !restorable || !env)
    throw new Error('restore-drill bug: a phase ran before locate and provision completed');
  return { point, restorable, env };
}
