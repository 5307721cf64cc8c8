import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { ConfigError, InterruptedError, RestoreDrillError } from '../errors.ts';
import type { Environment, StartedEnvironment } from '../environments/environment.ts';
import { newRunId, RESOURCE_PREFIX, type ResourceLabel } from '../environments/labels.ts';
import { findLocalLeftovers, removeLocalLeftover } from '../environments/leftovers.ts';
import { assertWritableReportDir } from '../report/report-dir.ts';
import { localPostgres } from '../environments/local-postgres.ts';
import { startReaper } from '../environments/reaper.ts';
import { evaluateObjective, objectiveCheck, objectiveTargets } from '../objectives/objectives.ts';
import type { CheckResult, DrillReport, DrillStatus, PhaseName, RpoBasis } from '../report/report-model.ts';
import { writeReport } from '../report/report-writer.ts';
import { resolveSigner } from '../report/signer.ts';
import type { RecoveryPoint, Restorable } from '../sources/source.ts';
import { redact } from '../util/redact.ts';
import { compareWithMarker, startComparison } from '../verify/compare.ts';
import { sequenceChecks } from '../verify/sequence-checks.ts';
import { compareTableSchemas } from '../verify/table-schema.ts';
import type { Marker } from '../verify/marker-model.ts';
import { readNewestMarker } from '../verify/read-markers.ts';
import type { DrillOptions } from './drill-options.ts';
import { PhaseClock } from './phase-clock.ts';
import { pickRecoveryPoint } from './pick-recovery-point.ts';
import { sandboxCheck } from './sandbox-check.ts';
import { TOOL_VERSION } from './tool-version.ts';

/**
 * What the body of a drill gets: a client connected to the restored database, and `check()` to turn
 * assertions into named checks of the report.
 *
 * @example
 * drill('orders', options, async ({ db, check }) => {
 *   await check('no negative totals', async () => {
 *     const { rows } = await db.query('select count(*)::int as n from orders where total < 0');
 *     expect(rows[0].n).toBe(0);
 *   });
 * });
 */
export interface DrillContext {
  /** A `pg` client connected to the restored database (closed for you afterwards). */
  readonly db: pg.Client;
  /** Runs `assertion` as its own check named `name`; a thrown error (e.g. a failed `expect`) fails only that check. */
  check(name: string, assertion: () => unknown): Promise<void>;
  readonly recoveryPoint: RecoveryPoint;
  readonly environment: StartedEnvironment;
  log(line: string): void;
}

/** The body of a drill: custom assertions on the restored data. */
export type DrillBody = (context: DrillContext) => unknown;

/** Everything `runDrill` needs: the drill's options plus its identity and body. */
export interface DrillRun extends DrillOptions {
  readonly name: string;
  /** The drill spec file, relative to the working directory (null for `restore-drill check`). */
  readonly file?: string | null;
  readonly body?: DrillBody;
  readonly signal?: AbortSignal;
  /** Progress lines; default: printed to stderr with the drill's name. */
  readonly log?: (line: string) => void;
  /** Progress for a terminal display: each phase as it starts, and tables done of total in `restore` and `verify`. */
  readonly progress?: (event: DrillProgressEvent) => void;
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
}

/**
 * Runs one drill: `locate` → `provision` → `restore` → `verify` → `report` → `teardown` (always).
 * Every run that got past option validation writes a signed report, whatever happened.
 * Throws only `ConfigError` for invalid options (nothing has started then).
 */
export async function runDrill(run: DrillRun): Promise<DrillResult> {
  const targets = objectiveTargets(run.objectives);
  if (!run.source || typeof run.source.list !== 'function') {
    throw new ConfigError(`drill "${run.name}" has no source`, "add `source: fileSource('backups/')` (or another source) to its options");
  }
  const log = run.log ?? ((line: string) => process.stderr.write(`[${run.name}] ${redact(line)}\n`));
  const reportDir = run.reportDir ?? process.env.RESTORE_DRILL_REPORT_DIR ?? 'reports';
  const key = await resolveSigner({
    flag: run.signingKey,
    env: process.env.RESTORE_DRILL_SIGNING_KEY,
    defaultDir: defaultKeyDir(),
    log,
  });
  const environment = run.environment ?? localPostgres();
  await environment.preflight?.(); // a missing tool is a ConfigError: nothing has started yet
  const runId = newRunId();
  const startedAt = new Date();
  const clock = new PhaseClock(run.signal);
  const progress = run.progress ?? (() => {});
  const phase = <T>(name: PhaseName, work: () => Promise<T>): Promise<T> => {
    progress({ phase: name });
    return clock.run(name, work);
  };
  const checks: CheckResult[] = [];
  let point: RecoveryPoint | undefined;
  let restorable: Restorable | undefined;
  let env: StartedEnvironment | undefined;
  let failure: { phase: NonNullable<PhaseClock['current']>; error: unknown } | undefined;
  let rpo: { basis: RpoBasis; at: Date; markerAt: string | null } | undefined;
  const algorithms = new Set<string>();
  await assertWritableReportDir(reportDir);
  await removeCrashLeftovers(environment, log);
  const workDir = await mkdtemp(join(tmpdir(), `${RESOURCE_PREFIX}work-${runId}-`));
  const label: ResourceLabel = { tool: 'restore-drill', kind: 'work-dir', runId, drillName: run.name, ownerPid: process.pid, createdAt: startedAt.toISOString() };
  await writeFile(join(workDir, 'restore-drill.json'), JSON.stringify(label));
  startReaper(process.pid, workDir); // downloads live here: removed even if this process is killed
  const context = { workDir, signal: run.signal, log };

  try {
    await phase('locate', async () => {
      log(`locate: listing recovery points from ${run.source.describe()}`);
      const points = await run.source.list(context);
      for (const policy of run.policies ?? []) {
        checks.push(...(await policy.evaluate({ points, now: startedAt, source: run.source, sourceContext: context })));
      }
      point = pickRecoveryPoint(points, run.pick, run.source.describe());
      log(`locate: picked ${point.id} (created ${point.createdAt.toISOString()})`);
      if (run.restore !== false) restorable = await run.source.fetch(point, context);
    });
    // A policy-only drill stops here: the recovery points were listed and checked, nothing is restored.
    if (run.restore !== false) {
      env = await phase('provision', () => environment.start({ runId, drillName: run.name, signal: run.signal, log, recoveryPoint: point, restorable }));
      const restoreProgress = (done: number, total: number) => progress({ phase: 'restore', done, total });
      // The manifest is known before the restore: with verifyDuringRestore, each of its tables is compared
      // as soon as it is loaded.
      await using early = restorable!.manifest && run.verifyDuringRestore ? startComparison(() => env!.connectionConfig(), restorable!.manifest, { label: 'manifest', algorithms }) : undefined;
      await phase('restore', () =>
        env!.restore(restorable!, { jobs: run.jobs, signal: run.signal, log, progress: restoreProgress, onTableRestored: early?.tableRestored, onRestoreWorkers: early?.restoreWorkers }),
      );
      checks.push({ name: 'restore completed', status: 'passed', expected: true, actual: true });
      await phase('verify', async () => {
        const client = new pg.Client(env!.connectionConfig());
        // An interrupted verify is abandoned while this client is still open, and teardown then stops the
        // server under it: that 'error' event must not crash the process that is writing the report.
        client.on('error', () => {});
        await client.connect();
        try {
          const manifest = restorable!.manifest;
          const marker = await readNewestMarker(client);
          checks.push(markersPresentCheck(manifest, marker));
          for (const [label, m] of [['manifest', manifest], [marker ? `marker #${marker.id}` : '', marker]] as const) {
            if (!m) continue;
            log(`verify: comparing ${Object.keys(m.tables).length} tables against the ${label}`);
            const onTable = (done: number, total: number) => progress({ phase: 'verify', done, total });
            const schemas = Object.fromEntries(Object.entries(m.tables).flatMap(([table, t]) => (t.schema ? [[table, t.schema]] : [])));
            // The catalog queries of the schema comparison wait on round trips, not CPU: they run on this
            // client while the checksums run on their own connections.
            const [sums, schemaChecks] = await Promise.all([
              m === manifest && early ? early.finish({ onTable }) : compareWithMarker(env!.connectionConfig(), m, { label, onTable, algorithms }),
              compareTableSchemas(client, schemas, label),
            ]);
            checks.push(...sums, ...schemaChecks);
          }
          checks.push(...(await sequenceChecks(client)));
          if (marker) rpo = { basis: 'marker', at: new Date(marker.takenAt), markerAt: marker.takenAt };
          else if (manifest) rpo = { basis: 'manifest', at: new Date(manifest.takenAt), markerAt: manifest.takenAt };
          if (run.body) await runBody(run.body, client, env!, point!, checks, log);
        } finally {
          await client.end().catch(() => {});
        }
      });
    }
  } catch (error) {
    failure = { phase: clock.current ?? 'locate', error };
    log(`${failure.phase}: ${describeError(error)}`);
    addSkippedChecks(checks, failure.phase, restorable, run.body !== undefined, error);
  }
  // After a failed restore too: code in the backup that the sandbox blocked is often why it failed.
  const sandbox = env ? await sandboxCheck(env, failure === undefined) : null;
  if (sandbox) checks.push(sandbox);

  if (!rpo && point) rpo = { basis: 'metadata', at: point.createdAt, markerAt: null };
  const rto = evaluateObjective(targets.rtoSeconds, clock.rtoSeconds());
  const rpoResult = evaluateObjective(targets.rpoSeconds, rpo ? (startedAt.getTime() - rpo.at.getTime()) / 1000 : null);
  const rpoDetail = rpo ? `measured from the ${rpo.basis === 'metadata' ? "recovery point's creation time (no markers found)" : `newest ${rpo.basis} in the restored data`}` : undefined;
  for (const check of [objectiveCheck('RTO', rto), objectiveCheck('RPO', rpoResult, rpoDetail)]) if (check) checks.push(check);

  const status = drillStatus(failure, checks);
  const report: Omit<DrillReport, 'previous'> = {
    schema: 'restore-drill.report/v1',
    runId,
    tool: { name: 'restore-drill', version: TOOL_VERSION },
    drill: { name: run.name, file: run.file ?? null },
    controls: [...(run.controls ?? [])],
    status,
    ...(failure ? { error: { phase: failure.phase, message: describeError(failure.error) } } : {}),
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    recoveryPoint: point
      ? {
          source: point.source,
          id: point.id,
          createdAt: point.createdAt.toISOString(),
          createdAtBasis: point.createdAtBasis,
          markerAt: rpo?.markerAt ?? null,
          digest: restorable?.digest ?? null,
          facts: point.facts,
        }
      : null,
    environment: env ? { kind: env.kind, version: env.version, ...(env.facts ? { facts: env.facts } : {}) } : failure?.phase === 'provision' ? { kind: environment.kind, version: null } : null,
    phases: clock.phases(),
    objectives: { rto, rpo: { ...rpoResult, basis: rpo?.basis ?? null } },
    checks,
    algorithms: [...algorithms].sort(),
  };

  try {
    progress({ phase: 'report' });
    const written = await writeReport({ report, reportDir, key });
    log(`report: ${status} — ${written.markdownPath}`);
    return {
      status,
      report: { ...report, previous: written.previous },
      reportPath: written.jsonPath,
      markdownPath: written.markdownPath,
      failedChecks: checks.filter((c) => c.status === 'failed'),
    };
  } finally {
    // Teardown always runs, after the report so the report cannot be lost to a teardown problem.
    await env?.stop().catch((error) => log(`teardown: ${describeError(error)}`));
    await rm(workDir, { recursive: true, force: true });
  }
}

function markersPresentCheck(manifest: Marker | undefined, marker: Marker | undefined): CheckResult {
  const found = [manifest ? 'manifest beside the dump' : null, marker ? `restore_drill.markers #${marker.id}` : null].filter(Boolean).join(', ');
  return manifest || marker
    ? { name: 'markers present', status: 'passed', expected: 'a marker', actual: found }
    : {
        name: 'markers present',
        status: 'failed',
        expected: 'a marker',
        actual: 'none',
        detail: 'no manifest beside the dump and no restore_drill.markers in the restored data: run `restore-drill mark` in production, or make dumps with `restore-drill dump`',
      };
}

async function runBody(body: DrillBody, db: pg.Client, environment: StartedEnvironment, recoveryPoint: RecoveryPoint, checks: CheckResult[], log: (line: string) => void) {
  const check = async (name: string, assertion: () => unknown) => {
    try {
      await assertion();
      checks.push({ name, status: 'passed', expected: null, actual: null });
    } catch (error) {
      checks.push(assertionFailure(name, error));
    }
  };
  try {
    await body({ db, check, recoveryPoint, environment, log });
  } catch (error) {
    checks.push(assertionFailure('drill assertions', error));
  }
}

function assertionFailure(name: string, error: unknown): CheckResult {
  const e = error as { expected?: unknown; actual?: unknown; message?: string };
  const scalar = (v: unknown) => (v === undefined ? null : typeof v === 'object' && v !== null ? JSON.stringify(v) : (v as string | number | boolean | null));
  return {
    name,
    status: 'failed',
    expected: scalar(e.expected),
    actual: scalar(e.actual),
    detail: redact(String(e.message ?? error).split('\n')[0] ?? ''),
  };
}

function addSkippedChecks(checks: CheckResult[], phase: string, restorable: Restorable | undefined, hasBody: boolean, error: unknown) {
  const reason = `skipped: ${phase} failed`;
  if (phase === 'locate' || phase === 'provision' || phase === 'restore') {
    if (phase === 'restore') {
      checks.push({ name: 'restore completed', status: 'failed', expected: true, actual: false, detail: describeError(error) });
    } else {
      checks.push({ name: 'restore completed', status: 'skipped', expected: true, actual: null, detail: reason });
    }
    checks.push({ name: 'markers present', status: 'skipped', expected: 'a marker', actual: null, detail: reason });
    for (const table of Object.keys(restorable?.manifest?.tables ?? {})) {
      checks.push({ name: `table exists ${table} (manifest)`, status: 'skipped', expected: true, actual: null, table, detail: reason });
    }
  }
  if (hasBody && !checks.some((c) => c.name === 'drill assertions')) {
    if (phase !== 'verify') checks.push({ name: 'drill assertions', status: 'skipped', expected: null, actual: null, detail: reason });
  }
}

function drillStatus(failure: { phase: string; error: unknown } | undefined, checks: CheckResult[]): DrillStatus {
  if (failure) {
    const { error, phase } = failure;
    if (error instanceof InterruptedError || phase === 'provision' || !(error instanceof RestoreDrillError)) return 'error';
    return 'failed';
  }
  return checks.some((c) => c.status === 'failed') ? 'failed' : 'passed';
}

/** One line for a report or a log: the message and, for our errors, what to do. */
export function describeError(error: unknown): string {
  if (error instanceof RestoreDrillError) return redact(error.hint ? `${error.message} (${error.hint})` : error.message);
  return redact(error instanceof Error ? error.message.split('\n')[0] ?? String(error) : String(error));
}

/**
 * Removes local clusters and work dirs of crashed runs (owner process gone) before starting, and what the
 * drill's environment kind left (containers, RDS instances), so a crash never piles up disk, processes or
 * cloud cost, even when nobody runs `restore-drill cleanup`. Best effort.
 */
async function removeCrashLeftovers(environment: Environment, log: (line: string) => void): Promise<void> {
  try {
    const leftovers = await findLocalLeftovers();
    for (const leftover of leftovers) await removeLocalLeftover(leftover);
    if (leftovers.length) log(`removed ${leftovers.length} leftover(s) of crashed runs: ${leftovers.map((l) => l.location).join(', ')}`);
  } catch (error) {
    log(`could not remove leftovers of crashed runs: ${describeError(error)}`);
  }
  try {
    await environment.removeLeftovers?.({ log });
  } catch (error) {
    log(`could not remove ${environment.kind} leftovers of crashed runs: ${describeError(error)}`);
  }
}

/** Where the demo signing key lives when no key is configured (git-ignored). */
export function defaultKeyDir(): string {
  return process.env.RESTORE_DRILL_HOME ? join(process.env.RESTORE_DRILL_HOME, 'keys') : join(process.cwd(), '.restore-drill', 'keys');
}
