import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../errors.ts';
import type { Environment, InstanceLimit } from '../environments/environment.ts';
import { newRunId, RESOURCE_PREFIX, type ResourceLabel } from '../environments/labels.ts';
import { localPostgres } from '../environments/local/local-postgres.ts';
import { startReaper } from '../environments/local/reaper.ts';
import type { EvidenceStore } from '../evidence/evidence-store.ts';
import { assertWritableReportDir } from '../evidence/report-dir.ts';
import { resolveSigner } from '../evidence/signer.ts';
import type { Signer } from '../evidence/signer-interface.ts';
import { objectiveTargets, type ObjectiveTargets } from '../objectives/objectives.ts';
import type { SourceContext } from '../sources/source.ts';
import { parseDuration } from '../util/duration.ts';
import { redact } from '../util/redact.ts';
import { assertUsableTempDir } from '../util/temp-dir.ts';
import { removeCrashLeftovers } from './crash-leftovers.ts';
import type { DrillProgressEvent, DrillRun } from './drill-run.ts';
import {
  defaultKeyDir,
  instanceLimit,
  VERIFY_BUDGET_ENV,
  verifyBudgetSeconds,
  withEnvironmentDefaults,
} from './drill-settings.ts';
import { assertSomethingToCheck } from './restore-checks.ts';

/** Everything a run settled before its first phase: validated options, the signer, the work directory. Immutable. */
export interface DrillSetup {
  readonly run: DrillRun;
  readonly log: (line: string) => void;
  readonly progress: (event: DrillProgressEvent) => void;
  readonly reportDir: string;
  readonly key: Signer;
  readonly environment: Environment;
  readonly cadence: string | null;
  /** Verification under a time budget (`verify: { budget }`, `--verify-budget`); null: every table checksummed in full. */
  readonly verifyBudget: VerifyBudget | null;
  readonly targets: ObjectiveTargets;
  /** The evidence store the report is appended to, when one is configured (opened and checked already). */
  readonly evidence?: EvidenceStore;
  readonly runId: string;
  readonly startedAt: Date;
  /** Where sources download to; removed in teardown (and by a reaper if this process is killed). */
  readonly workDir: string;
  /** What a source's `list()` and `fetch()` get. */
  readonly sourceContext: SourceContext;
  /** The run's cap on temporary instances (`--rds-limit`), handed to the environment when it starts. */
  readonly instanceLimit?: InstanceLimit;
}

/** A drill's verification budget, checked. */
export interface VerifyBudget {
  readonly budgetSeconds: number;
  /** The checksum speed to plan with; measured when absent. */
  readonly rowsPerSecond?: number;
}

/**
 * Validates a drill's options and prepares its run: resolves the signer, opens the evidence store, checks
 * that the environment can start and the report directory is writable, removes what crashed runs left, and
 * makes the work directory. Throws only `ConfigError` (nothing has started then).
 */
export async function prepareRun(run: DrillRun): Promise<DrillSetup> {
  const targets = objectiveTargets(run.objectives);
  if (!run.source || typeof run.source.list !== 'function') {
    throw new ConfigError(
      `drill "${run.name}" has no source`,
      "add `source: fileSource('backups/')` (or another source) to its options",
    );
  }
  assertSomethingToCheck(run);
  const log = run.log ?? ((line: string) => process.stderr.write(`[${run.name}] ${redact(line)}\n`));
  // Values the CLI resolved win over the user's environment variables, which are only defaults.
  const settings = withEnvironmentDefaults(run.settings);
  const reportDir = run.reportDir ?? settings.reportDir ?? 'reports';
  const key =
    run.signer ??
    (await resolveSigner({
      flag: run.signingKey,
      env: settings.signingKey,
      defaultDir: defaultKeyDir(),
      log,
    }));
  const environment = run.environment ?? localPostgres();
  const cadence = run.cadence ?? settings.cadence ?? null;
  const limit = instanceLimit(settings);
  if (cadence !== null) parseDuration(cadence, `cadence of drill "${run.name}"`);
  const verifyBudget = checkedVerifyBudget(run, settings.verifyBudget);
  // The store is opened (its URI and retention checked) before anything starts; `run` and `check` have
  // already contacted it. Loaded only when configured: the AWS SDK takes a while to load.
  const evidence = settings.evidence
    ? await (
        await import('../evidence/evidence-store.ts')
      ).openEvidenceStore(settings.evidence, { retention: settings.evidenceRetention })
    : undefined;
  await environment.preflight?.(); // a missing tool is a ConfigError: nothing has started yet
  const runId = newRunId();
  const startedAt = new Date();
  await assertWritableReportDir(reportDir);
  await assertUsableTempDir();
  await removeCrashLeftovers(environment, log);
  const workDir = await mkdtemp(join(tmpdir(), `${RESOURCE_PREFIX}work-${runId}-`));
  const label: ResourceLabel = {
    tool: 'restore-drill',
    kind: 'work-dir',
    runId,
    drillName: run.name,
    ownerPid: process.pid,
    createdAt: startedAt.toISOString(),
  };
  await writeFile(join(workDir, 'restore-drill.json'), JSON.stringify(label), { mode: 0o644 }); // cleanup trusts no writable label
  startReaper(process.pid, workDir); // downloads live here: removed even if this process is killed
  return {
    run,
    log,
    progress: run.progress ?? (() => {}),
    reportDir,
    key,
    environment,
    cadence,
    verifyBudget,
    targets,
    ...(evidence ? { evidence } : {}),
    runId,
    startedAt,
    workDir,
    sourceContext: { workDir, signal: run.signal, log },
    ...(limit ? { instanceLimit: limit } : {}),
  };
}

/** The drill's `verify` options over the run's `--verify-budget`, checked; a bad one is a ConfigError. */
function checkedVerifyBudget(run: DrillRun, fromSettings: string | undefined): VerifyBudget | null {
  const own = run.verify?.budget;
  const budget = own ?? fromSettings;
  if (budget === undefined) return null;
  const budgetSeconds = verifyBudgetSeconds(
    budget,
    own === undefined ? `--verify-budget ($${VERIFY_BUDGET_ENV})` : `verify budget of drill "${run.name}"`,
  );
  const speed = run.verify?.rowsPerSecond;
  if (speed !== undefined && !(Number.isFinite(speed) && speed > 0)) {
    throw new ConfigError(
      `bad verify.rowsPerSecond ${speed} of drill "${run.name}"`,
      'give a number of rows per second above 0, or leave it out to have it measured',
    );
  }
  return { budgetSeconds, ...(speed !== undefined ? { rowsPerSecond: speed } : {}) };
}
