import type { StartedEnvironment } from '../environments/environment.ts';
import { InterruptedError, RestoreDrillError } from '../errors.ts';
import type { Restorable } from '../model/recovery-point.ts';
import type {
  CheckResult,
  DrillReport,
  DrillStatus,
  LedgerFields,
  NotVerified,
  PhaseTiming,
  TimeLimit,
} from '../model/report.ts';
import { evaluateObjective, objectiveCheck, type ObjectiveTargets } from '../objectives/objectives.ts';
import { RestoreFailedError } from '../postgres/restore-errors.ts';
import { notComparedEntry, notRestoredEntry } from '../verify/not-verified.ts';
import { describeError } from './describe-error.ts';
import { nothingVerifiedCheck, restoreFailedCheck } from './restore-checks.ts';
import type { Findings, PhaseFailure } from './run-state.ts';
import { TOOL_VERSION } from './tool-version.ts';

/** Everything {@link buildReport} reads: the drill's identity, the phases' timings and what they found. Plain values. */
export interface ReportInput {
  readonly runId: string;
  readonly drill: { readonly name: string; readonly file: string | null };
  readonly controls: readonly string[];
  readonly cadence: string | null;
  /** False for a policy-only drill (`restore: false`): nothing was meant to be restored. */
  readonly restore: boolean;
  /** Whether the drill has a body of its own checks. */
  readonly hasBody: boolean;
  readonly targets: ObjectiveTargets;
  readonly startedAt: Date;
  readonly finishedAt: Date;
  readonly phases: readonly PhaseTiming[];
  /** Seconds from the start of `locate` to the end of `verify`; null when `verify` did not complete. */
  readonly rtoSeconds: number | null;
  /** The kind of the drill's environment, named in the report when it failed to start. */
  readonly environmentKind: string;
  /** What the phases found, the fetched recovery point and the started environment (when they got that far). */
  readonly state: Findings & {
    readonly restorable?: Pick<Restorable, 'digest' | 'manifest'>;
    readonly env?: Pick<StartedEnvironment, 'kind' | 'version' | 'facts'>;
  };
  /** The `restore sandbox` check, read from the server log after the phases; null for an environment without one. */
  readonly sandbox: CheckResult | null;
  /** Checks of the environment's own conduct (e.g. a lost RDS instance lease), from `StartedEnvironment.checks`. */
  readonly environmentChecks?: readonly CheckResult[];
  /** The time limit the drill ran under (`runDrill` always sets one). */
  readonly timeLimit?: TimeLimit;
}

/**
 * The report of one run, from what its phases found: a pure function, so the status rules are tested
 * without a database. The rules:
 * - a failed phase makes the drill `error` when the backup was not judged (interrupted, the environment
 *   failed to start or failed under the restore, an unexpected error) and `failed` otherwise (a damaged
 *   archive, no recovery point to restore); the checks that depended on the failed phase are `skipped`;
 * - without a failed phase, any failed check fails the drill, and a drill passes only if a check that
 *   could have failed ran and passed: otherwise the check `something verified` fails it;
 * - what was not verified is listed (nothing compared after a failed phase; nothing restored by a
 *   policy-only drill; a restore without the sandbox);
 * - the achieved RPO is measured from the newest trusted marker or manifest in the restored copy, else from
 *   the recovery point's creation time, and the report says which.
 *
 * @example
 * const report = buildReport({ ...input, state: { checks, notVerified: [], algorithms: [], bodyStarted: false } });
 * report.status; // 'passed' | 'failed' | 'error'
 */
export function buildReport(input: ReportInput): Omit<DrillReport, LedgerFields> {
  const { state, sandbox } = input;
  const failure = state.failure;
  const skipped = failure ? skippedChecks(failure, state.restorable, input.hasBody && !state.bodyStarted) : [];
  const notVerified: NotVerified[] = [
    ...state.notVerified,
    ...(sandbox?.status === 'skipped' && /not sandboxed/.test(sandbox.detail ?? '')
      ? [
          {
            kind: 'database',
            name: 'restore sandbox',
            reason: 'not-sandboxed',
            detail: 'the restore ran without the sandbox (opted out): code in the backup could reach the drill host',
          } as const,
        ]
      : []),
    ...(!input.restore
      ? [notRestoredEntry(state.point?.id ?? null)]
      : failure
        ? [notComparedEntry(failure.phase)]
        : []),
  ];
  const { point, dataTime } = state;
  const rpo = dataTime
    ? {
        basis: dataTime.basis,
        at: new Date(dataTime.at),
        markerAt: dataTime.at as string | null,
        label: dataTime.label,
      }
    : point
      ? { basis: 'metadata' as const, at: point.createdAt, markerAt: null, label: undefined }
      : undefined;
  const rto = evaluateObjective(input.targets.rtoSeconds, input.rtoSeconds);
  const rpoResult = evaluateObjective(
    input.targets.rpoSeconds,
    rpo ? (input.startedAt.getTime() - rpo.at.getTime()) / 1000 : null,
  );
  const rpoDetail = rpo
    ? rpo.basis === 'metadata'
      ? "measured from the recovery point's creation time (no trusted marker or manifest)"
      : `measured from ${rpo.label} (${rpo.markerAt}), the newest trusted evidence of the data in the restored copy`
    : undefined;
  const measured = [...state.checks, ...skipped, ...(sandbox ? [sandbox] : []), ...(input.environmentChecks ?? [])];
  const objectives = [objectiveCheck('RTO', rto), objectiveCheck('RPO', rpoResult, rpoDetail)].filter(
    (check): check is CheckResult => check !== null,
  );
  // A drill that checked nothing passes nothing: say so as a failed check rather than sign a vacuous pass.
  const nothing = failure ? undefined : nothingVerifiedCheck([...measured, ...objectives]);
  const checks = [...measured, ...objectives, ...(nothing ? [nothing] : [])];
  const env = state.env;
  return {
    schema: 'restore-drill.report/v1',
    runId: input.runId,
    tool: { name: 'restore-drill', version: TOOL_VERSION },
    drill: { name: input.drill.name, file: input.drill.file },
    controls: [...input.controls],
    status: drillStatus(failure, checks),
    ...(failure ? { error: { phase: failure.phase, message: describeError(failure.error) } } : {}),
    startedAt: input.startedAt.toISOString(),
    finishedAt: input.finishedAt.toISOString(),
    recoveryPoint: point
      ? {
          source: point.source,
          id: point.id,
          createdAt: point.createdAt.toISOString(),
          createdAtBasis: point.createdAtBasis,
          markerAt: rpo?.markerAt ?? null,
          digest: state.restorable?.digest ?? null,
          facts: point.facts,
        }
      : null,
    environment: env
      ? { kind: env.kind, version: env.version, ...(env.facts ? { facts: env.facts } : {}) }
      : failure?.phase === 'provision'
        ? { kind: input.environmentKind, version: null }
        : null,
    phases: [...input.phases],
    objectives: { rto, rpo: { ...rpoResult, basis: rpo?.basis ?? null } },
    checks,
    // A manifest and a marker each list what they could not compare: once per thing in the report.
    notVerified: [...new Map(notVerified.map((n) => [`${n.kind}\n${n.name}\n${n.reason}`, n])).values()],
    ...(state.verification ? { verification: state.verification } : {}),
    algorithms: [...state.algorithms].sort(),
    cadence: input.cadence,
    ...(input.timeLimit ? { timeLimit: input.timeLimit } : {}),
  };
}

/** The checks that depended on the failed phase, as `skipped` (a failed restore fails `restore completed`). */
function skippedChecks(
  failure: PhaseFailure,
  restorable: Pick<Restorable, 'manifest'> | undefined,
  bodyNotRun: boolean,
): CheckResult[] {
  const reason = `skipped: ${failure.phase} failed`;
  // A WAL replay that fails (a missing segment, a target it cannot reach) is a restore that did not complete.
  const restoreFailed = failure.phase === 'restore' || failure.phase === 'replay';
  const beforeVerify = restoreFailed || ['locate', 'thaw', 'provision'].includes(failure.phase);
  return [
    ...(beforeVerify
      ? [
          restoreFailed
            ? restoreFailedCheck(describeError(failure.error))
            : ({ name: 'restore completed', status: 'skipped', expected: true, actual: null, detail: reason } as const),
          { name: 'markers present', status: 'skipped', expected: 'a marker', actual: null, detail: reason } as const,
          ...Object.keys(restorable?.manifest?.tables ?? {}).map(
            (table) =>
              ({
                name: `table exists ${table} (manifest)`,
                status: 'skipped',
                expected: true,
                actual: null,
                table,
                detail: reason,
              }) as const,
          ),
        ]
      : []),
    // The body's own checks depend on every step before it, verify's comparisons included.
    ...(bodyNotRun
      ? [{ name: 'drill assertions', status: 'skipped', expected: null, actual: null, detail: reason } as const]
      : []),
  ];
}

/**
 * `error` when a phase failed and the backup was not judged; `failed` when a phase failed because of the
 * backup, or a check failed; else `passed`.
 */
function drillStatus(failure: PhaseFailure | undefined, checks: readonly CheckResult[]): DrillStatus {
  if (failure) {
    const { error, phase } = failure;
    if (error instanceof InterruptedError || phase === 'provision' || !(error instanceof RestoreDrillError))
      return 'error';
    // The disposable database failed under pg_restore: the backup was not judged.
    if (error instanceof RestoreFailedError && error.kind === 'environment') return 'error';
    return 'failed';
  }
  return checks.some((c) => c.status === 'failed') ? 'failed' : 'passed';
}
