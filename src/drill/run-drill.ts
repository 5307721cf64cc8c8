import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import pg from 'pg';
import { ConfigError, InterruptedError, RestoreDrillError } from '../errors.ts';
import type { Environment, StartedEnvironment } from '../environments/environment.ts';
import { newRunId, RESOURCE_PREFIX, type ResourceLabel } from '../environments/labels.ts';
import { findLocalLeftovers, removeLocalLeftover } from '../environments/local/leftovers.ts';
import { assertWritableReportDir } from '../evidence/report-dir.ts';
import { localPostgres } from '../environments/local/local-postgres.ts';
import { startReaper } from '../environments/local/reaper.ts';
import { evaluateObjective, objectiveCheck, objectiveTargets } from '../objectives/objectives.ts';
import { RestoreFailedError, RestoreIncompleteError } from '../postgres/restore-errors.ts';
import type { CheckResult, DrillReport, DrillStatus, LedgerFields, NotVerified, PhaseName, RpoBasis } from '../model/report.ts';
import type { LedgerHead } from '../model/ledger-head.ts';
import { CADENCE_ENV, EVIDENCE_ENV, EVIDENCE_RETENTION_ENV } from '../evidence/evidence-env.ts';
import { parseDuration } from '../util/duration.ts';
import { writeReport } from './report-writer.ts';
import { resolveSigner } from '../evidence/signer.ts';
import { type Signer } from '../evidence/signer-interface.ts';
import type { RecoveryPoint, Restorable } from '../model/recovery-point.ts';
import { redact } from '../util/redact.ts';
import { assertUsableTempDir } from '../util/temp-dir.ts';
import { compareWithMarker, startComparison } from '../verify/compare.ts';
import { startObjectComparison } from '../verify/compare-objects.ts';
import { sequenceChecks } from '../verify/sequence-checks.ts';
import { compareTableSchemas } from '../markers/table-schema.ts';
import type { Marker } from '../model/marker.ts';
import { notComparedEntry, notRestoredEntry, objectsNotVerified, tablesNotVerified } from '../verify/not-verified.ts';
import { qualifiedName } from '../markers/checksum-sql.ts';
import { manifestTrustCheck, markerTrustCheck, newestEvidence } from '../verify/marker-trust.ts';
import { readNewestMarker } from '../markers/read-markers.ts';
import { discoverTables } from '../markers/table-discovery.ts';
import type { DrillOptions } from './drill-options.ts';
import { PhaseClock } from './phase-clock.ts';
import { pickRecoveryPoint } from './pick-recovery-point.ts';
import { assertSomethingToCheck, nothingVerifiedCheck, restoreCompletedCheck, restoreFailedCheck } from './restore-checks.ts';
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
  /** An already resolved signer (e.g. by the CLI before anything else started); default: from `signingKey`. */
  readonly signer?: Signer;
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
  /** The report's position in its chain and its file's digest: the ledger head this run left. */
  readonly ledger: LedgerHead;
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
  assertSomethingToCheck(run);
  const log = run.log ?? ((line: string) => process.stderr.write(`[${run.name}] ${redact(line)}\n`));
  const reportDir = run.reportDir ?? process.env.RESTORE_DRILL_REPORT_DIR ?? 'reports';
  const key = run.signer ?? await resolveSigner({
    flag: run.signingKey,
    env: process.env.RESTORE_DRILL_SIGNING_KEY,
    defaultDir: defaultKeyDir(),
    log,
  });
  const environment = run.environment ?? localPostgres();
  const cadence = run.cadence ?? (process.env[CADENCE_ENV]?.trim() || null);
  if (cadence !== null) parseDuration(cadence, `cadence of drill "${run.name}"`);
  // The store is opened (its URI and retention checked) before anything starts; `run` and `check` have
  // already contacted it. Loaded only when configured: the AWS SDK takes a while to load.
  const evidenceUri = process.env[EVIDENCE_ENV]?.trim();
  const evidence = evidenceUri
    ? await (await import('../evidence/evidence-store.ts')).openEvidenceStore(evidenceUri, { retention: process.env[EVIDENCE_RETENTION_ENV]?.trim() || undefined })
    : undefined;
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
  let rpo: { basis: RpoBasis; at: Date; markerAt: string | null; label?: string } | undefined;
  const algorithms = new Set<string>();
  const notVerified: NotVerified[] = [];
  let bodyStarted = false;
  await assertWritableReportDir(reportDir);
  await assertUsableTempDir();
  await removeCrashLeftovers(environment, log);
  const workDir = await mkdtemp(join(tmpdir(), `${RESOURCE_PREFIX}work-${runId}-`));
  const label: ResourceLabel = { tool: 'restore-drill', kind: 'work-dir', runId, drillName: run.name, ownerPid: process.pid, createdAt: startedAt.toISOString() };
  await writeFile(join(workDir, 'restore-drill.json'), JSON.stringify(label), { mode: 0o644 }); // cleanup trusts no writable label
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
      checks.push(...(restorable?.checks ?? [])); // what the source checked while fetching (e.g. key access)
    });
    // A policy-only drill stops here: the recovery points were listed and checked, nothing is restored.
    if (run.restore !== false) {
      env = await phase('provision', () => environment.start({ runId, drillName: run.name, signal: run.signal, log, recoveryPoint: point, restorable }));
      const restoreProgress = (done: number, total: number) => progress({ phase: 'restore', done, total });
      // The manifest is known before the restore: with verifyDuringRestore, each of its tables is compared
      // as soon as it is loaded.
      await using early = restorable!.manifest && run.verifyDuringRestore ? startComparison(() => env!.connectionConfig(), restorable!.manifest, { label: 'manifest', algorithms }) : undefined;
      let incomplete: RestoreIncompleteError | undefined;
      try {
        await phase('restore', () =>
          env!.restore(restorable!, { jobs: run.jobs, signal: run.signal, log, progress: restoreProgress, onTableRestored: early?.tableRestored, onRestoreWorkers: early?.restoreWorkers }),
        );
      } catch (error) {
        // pg_restore read the whole archive and restored what it could: still compare everything, so the report
        // shows what came back and what did not; `restore completed` fails with the errors.
        if (!(error instanceof RestoreIncompleteError)) throw error;
        incomplete = error;
      }
      checks.push(restoreCompletedCheck(incomplete));
      await phase('verify', async () => {
        const client = new pg.Client(env!.connectionConfig());
        // An interrupted verify is abandoned while this client is still open, and teardown then stops the
        // server under it: that 'error' event must not crash the process that is writing the report.
        client.on('error', () => {});
        await client.connect();
        // Functions, views, triggers, policies, privileges, large objects: on a connection of their own.
        await using objects = startObjectComparison(env!.connectionConfig());
        try {
          const manifest = restorable!.manifest;
          const marker = await readNewestMarker(client);
          checks.push(markersPresentCheck(manifest, marker));
          // Markers and manifests came with the backup: checked against what the drill knows before they count.
          const evidence = { drillStartedAt: startedAt, recoveryPoint: point, restoredTables: (await discoverTables(client)).map(qualifiedName) };
          const trust = { manifest: manifest && manifestTrustCheck(manifest, evidence), marker: marker && markerTrustCheck(marker, manifest, evidence) };
          for (const check of [trust.manifest, trust.marker]) if (check) checks.push(check);
          for (const [label, m] of [['manifest', manifest], [marker ? `marker #${marker.id}` : '', marker]] as const) {
            if (!m) continue;
            log(`verify: comparing ${Object.keys(m.tables).length} tables against the ${label}`);
            const onTable = (done: number, total: number) => progress({ phase: 'verify', done, total });
            const schemas = Object.fromEntries(Object.entries(m.tables).flatMap(([table, t]) => (t.schema ? [[table, t.schema]] : [])));
            // The catalog queries of the schema comparison wait on round trips, not CPU: they run on this
            // client while the checksums run on their own connections.
            const [sums, schemaChecks, objectChecks] = await Promise.all([
              m === manifest && early ? early.finish({ onTable }) : compareWithMarker(env!.connectionConfig(), m, { label, onTable, algorithms }),
              compareTableSchemas(client, schemas, label),
              objects.compare(m, { label, exact: m === manifest, dumpedWithout: run.dumpedWithout }),
            ]);
            checks.push(...sums, ...schemaChecks, ...objectChecks.checks);
            notVerified.push(...objectChecks.notVerified);
          }
          checks.push(...(await sequenceChecks(client)));
          notVerified.push(...(await tablesNotVerified(client, [manifest, marker])), ...objectsNotVerified([manifest, marker]));
          // The newest trusted evidence of the data's time: an older marker must not make a fresh dump look stale.
          const newest = newestEvidence([
            marker && trust.marker?.status === 'passed' ? { basis: 'marker', at: marker.takenAt, label: `marker #${marker.id}` } : undefined,
            manifest && trust.manifest?.status === 'passed' ? { basis: 'manifest', at: manifest.takenAt, label: "the dump's manifest" } : undefined,
          ]);
          if (newest) rpo = { basis: newest.basis, at: new Date(newest.at), markerAt: newest.at, label: newest.label };
          bodyStarted = run.body !== undefined;
          if (run.body) await runBody(run.body, client, env!, point!, checks, log);
        } finally {
          await client.end().catch(() => {});
        }
      });
    }
  } catch (error) {
    failure = { phase: clock.current ?? 'locate', error };
    log(`${failure.phase}: ${describeError(error)}`);
    addSkippedChecks(checks, failure.phase, restorable, run.body !== undefined && !bodyStarted, error);
  }
  // After a failed restore too: code in the backup that the sandbox blocked is often why it failed.
  const sandbox = env ? await sandboxCheck(env, failure === undefined) : null;
  if (sandbox) checks.push(sandbox);
  if (sandbox?.status === 'skipped' && /not sandboxed/.test(sandbox.detail ?? '')) {
    notVerified.push({ kind: 'database', name: 'restore sandbox', reason: 'not-sandboxed', detail: 'the restore ran without the sandbox (opted out): code in the backup could reach the drill host' });
  }
  if (run.restore === false) notVerified.push(notRestoredEntry(point?.id ?? null));
  else if (failure) notVerified.push(notComparedEntry(failure.phase));

  if (!rpo && point) rpo = { basis: 'metadata', at: point.createdAt, markerAt: null };
  const rto = evaluateObjective(targets.rtoSeconds, clock.rtoSeconds());
  const rpoResult = evaluateObjective(targets.rpoSeconds, rpo ? (startedAt.getTime() - rpo.at.getTime()) / 1000 : null);
  const rpoDetail = rpo
    ? rpo.basis === 'metadata'
      ? "measured from the recovery point's creation time (no trusted marker or manifest)"
      : `measured from ${rpo.label} (${rpo.markerAt}), the newest trusted evidence of the data in the restored copy`
    : undefined;
  for (const check of [objectiveCheck('RTO', rto), objectiveCheck('RPO', rpoResult, rpoDetail)]) if (check) checks.push(check);

  // A drill that checked nothing passes nothing: say so as a failed check rather than sign a vacuous pass.
  const nothing = failure ? undefined : nothingVerifiedCheck(checks);
  if (nothing) checks.push(nothing);
  const status = drillStatus(failure, checks);
  const report: Omit<DrillReport, LedgerFields> = {
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
    // A manifest and a marker each list what they could not compare: once per thing in the report.
    notVerified: [...new Map(notVerified.map((n) => [`${n.kind}\n${n.name}\n${n.reason}`, n])).values()],
    algorithms: [...algorithms].sort(),
    cadence,
  };

  try {
    progress({ phase: 'report' });
    const written = await writeReport({ report, reportDir, key, evidence });
    log(`report: ${status} — ${written.markdownPath}${evidence ? ` (and ${evidence.uri}, position ${written.head.position})` : ''}`);
    return {
      status,
      report: { ...report, signing: { demoKey: key.demo === true }, previous: written.previous, position: written.head.position, reportFile: basename(written.jsonPath) },
      reportPath: written.jsonPath,
      markdownPath: written.markdownPath,
      failedChecks: checks.filter((c) => c.status === 'failed'),
      ledger: written.head,
    };
  } finally {
    evidence?.destroy();
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
    const queries: string[] = [];
    // The report says what a custom check looked at: every statement it ran on `db`, recorded while it runs.
    const original = db.query;
    db.query = function (this: pg.Client, ...args: unknown[]) {
      queries.push(queryText(args[0]));
      return (original as (...a: unknown[]) => unknown).apply(this, args);
    } as typeof db.query;
    const recorded = () => (queries.length ? { queries: queries.map((q) => redact(q)) } : {});
    try {
      await assertion();
      checks.push({ name, status: 'passed', expected: null, actual: null, ...recorded() });
    } catch (error) {
      checks.push({ ...assertionFailure(name, error), ...recorded() });
    } finally {
      db.query = original;
    }
  };
  try {
    await body({ db, check, recoveryPoint, environment, log });
  } catch (error) {
    checks.push(assertionFailure('drill assertions', error));
  }
}

/** The SQL of a `query()` call: a string, or a config object with `text`. */
function queryText(query: unknown): string {
  if (typeof query === 'string') return query;
  const text = (query as { text?: unknown } | null)?.text;
  return typeof text === 'string' ? text : String(query);
}

/**
 * A thrown assertion as a failed check: Vitest's AssertionError carries `expected` and `actual`, which become
 * the check's values, and the detail says it in plain words instead of Vitest's `Object.is equality` text.
 */
function assertionFailure(name: string, error: unknown): CheckResult {
  const e = error as { expected?: unknown; actual?: unknown; message?: string; showDiff?: boolean };
  const scalar = (v: unknown) => (v === undefined ? null : typeof v === 'object' && v !== null ? JSON.stringify(v) : (v as string | number | boolean | null));
  const message = String(e.message ?? error).split('\n')[0] ?? '';
  const hasValues = e.expected !== undefined || e.actual !== undefined;
  // `expect(x, 'orders').toBe(0)` prefixes the message with its own words: keep them.
  const prefix = /^(.*?): expected /.exec(message)?.[1];
  const plain =
    hasValues && e.showDiff !== false
      ? `${prefix ? `${prefix}: ` : ''}expected ${describeValue(e.expected)}, received ${describeValue(e.actual)}`
      : message.replace(/\s*\/\/ Object\.is equality$/, '');
  return {
    name,
    status: 'failed',
    expected: scalar(e.expected),
    actual: scalar(e.actual),
    detail: redact(plain),
  };
}

function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === undefined) return 'undefined';
  if (typeof value === 'object' && value !== null) return JSON.stringify(value);
  return String(value);
}

function addSkippedChecks(checks: CheckResult[], phase: string, restorable: Restorable | undefined, bodyNotRun: boolean, error: unknown) {
  const reason = `skipped: ${phase} failed`;
  if (phase === 'locate' || phase === 'provision' || phase === 'restore') {
    if (phase === 'restore') {
      checks.push(restoreFailedCheck(describeError(error)));
    } else {
      checks.push({ name: 'restore completed', status: 'skipped', expected: true, actual: null, detail: reason });
    }
    checks.push({ name: 'markers present', status: 'skipped', expected: 'a marker', actual: null, detail: reason });
    for (const table of Object.keys(restorable?.manifest?.tables ?? {})) {
      checks.push({ name: `table exists ${table} (manifest)`, status: 'skipped', expected: true, actual: null, table, detail: reason });
    }
  }
  // The body's own checks depend on every step before it, verify's comparisons included.
  if (bodyNotRun) checks.push({ name: 'drill assertions', status: 'skipped', expected: null, actual: null, detail: reason });
}

function drillStatus(failure: { phase: string; error: unknown } | undefined, checks: CheckResult[]): DrillStatus {
  if (failure) {
    const { error, phase } = failure;
    if (error instanceof InterruptedError || phase === 'provision' || !(error instanceof RestoreDrillError)) return 'error';
    // The disposable database failed under pg_restore: the backup was not judged.
    if (error instanceof RestoreFailedError && error.kind === 'environment') return 'error';
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
    const removed: string[] = [];
    for (const leftover of await findLocalLeftovers()) {
      // One that cannot be removed (swapped for a symlink meanwhile) does not keep the others.
      await removeLocalLeftover(leftover).then(
        () => removed.push(leftover.location),
        (error: unknown) => log(`could not remove a leftover of a crashed run: ${describeError(error)}`),
      );
    }
    if (removed.length) log(`removed ${removed.length} leftover(s) of crashed runs: ${removed.join(', ')}`);
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
