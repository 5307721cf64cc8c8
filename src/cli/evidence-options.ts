import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Option } from 'commander';
import { ConfigError } from '../errors.ts';
import { CADENCE_ENV, EVIDENCE_ENV, EVIDENCE_RETENTION_ENV } from '../evidence/evidence-env.ts';
import type { EvidenceStore } from '../evidence/evidence-store.ts';
import { VERIFY_BUDGET_ENV, verifyBudgetSeconds, type DrillSettings } from '../drill/drill-settings.ts';
import { DEFAULT_GRACE } from '../evidence/staleness.ts';
import { loadHistory, type LoadHistoryOptions, type ReportHistory } from '../views/history.ts';
import { parseDuration } from '../util/duration.ts';

/** `--evidence s3://bucket/prefix`, shared by run, check, verify, history and controls. */
export function evidenceOption(): Option {
  return new Option(
    '--evidence <s3://bucket/prefix>',
    `an evidence store: reports are kept and read there, across runs and machines; default $${EVIDENCE_ENV}`,
  );
}

/** `--evidence-retention D` of run and check. */
export function evidenceRetentionOption(): Option {
  return new Option(
    '--evidence-retention <duration>',
    `keep each report in the store under S3 Object Lock (COMPLIANCE) this long, e.g. 400d; the bucket must have Object Lock; default $${EVIDENCE_RETENTION_ENV}`,
  );
}

/** `--cadence D` of run and check: recorded in reports of drills that declare none. */
export function cadenceOption(): Option {
  return new Option(
    '--cadence <duration>',
    `how often these drills run, e.g. 1mo (30 days), for drills that declare no cadence; default $${CADENCE_ENV}`,
  );
}

/** `--verify-budget D` of run and check: the verification budget of drills that set none. */
export function verifyBudgetOption(): Option {
  return new Option(
    '--verify-budget <duration>',
    `verify within this time, e.g. 30m: every row count, and as many key-range checksums as fit, rotating across runs (drills that set no verify.budget); default $${VERIFY_BUDGET_ENV}`,
  );
}

/** `--grace D` of verify, history and controls. */
export function graceOption(): Option {
  return new Option(
    '--grace <duration>',
    "how far past its cadence a drill's newest report may be before the drill is stale",
  ).default(DEFAULT_GRACE);
}

/** The evidence store flags as given. */
export interface EvidenceFlags {
  readonly evidence?: string;
  readonly evidenceRetention?: string;
}

/**
 * Opens the store that `--evidence` (or its variable) names, or returns undefined when none is configured.
 * The AWS SDK is loaded only then. With `check`, the bucket is contacted now, so a wrong bucket or missing
 * Object Lock is a usage error before anything else runs.
 *
 * @example
 * const store = await openConfiguredStore(opts, { check: true });
 */
export async function openConfiguredStore(
  flags: EvidenceFlags,
  options: { check?: boolean; env?: NodeJS.ProcessEnv } = {},
): Promise<EvidenceStore | undefined> {
  const env = options.env ?? process.env;
  const uri = flags.evidence ?? (env[EVIDENCE_ENV]?.trim() || undefined);
  const retention = flags.evidenceRetention ?? (env[EVIDENCE_RETENTION_ENV]?.trim() || undefined);
  if (!uri) return undefined;
  const { openEvidenceStore } = await import('../evidence/evidence-store.ts');
  const store = await openEvidenceStore(uri, { retention });
  if (options.check) {
    try {
      await store.check();
    } catch (error) {
      store.destroy();
      throw error;
    }
  }
  return store;
}

/** The flags of run and check that become settings of every drill. */
export type DrillFlags = EvidenceFlags & { readonly cadence?: string; readonly verifyBudget?: string };

/**
 * Checks `--cadence` and `--verify-budget` (or its variable) and returns them (and the store) as the settings
 * drills get: `run` hands them to its worker processes, `check` to the drill it runs in-process.
 */
export function drillEvidenceSettings(
  store: EvidenceStore | undefined,
  flags: DrillFlags,
  env: NodeJS.ProcessEnv = process.env,
): DrillSettings {
  if (flags.cadence !== undefined) parseDuration(flags.cadence, '--cadence');
  // A bad budget in the variable is a usage error now, not a failed drill in every worker later.
  const fromEnv = env[VERIFY_BUDGET_ENV]?.trim() || undefined;
  if (flags.verifyBudget !== undefined) verifyBudgetSeconds(flags.verifyBudget, '--verify-budget');
  else if (fromEnv !== undefined) verifyBudgetSeconds(fromEnv, `$${VERIFY_BUDGET_ENV}`);
  return {
    ...(flags.cadence !== undefined ? { cadence: flags.cadence } : {}),
    ...(flags.verifyBudget !== undefined ? { verifyBudget: flags.verifyBudget } : {}),
    ...(store
      ? { evidence: store.uri, ...(flags.evidenceRetention ? { evidenceRetention: flags.evidenceRetention } : {}) }
      : {}),
  };
}

/**
 * What `run` and `check` do with the store before any drill starts: check it, fill the report directory from
 * it (so new reports continue its chain), and settle the store and `--cadence` for the drills. Returns the
 * store's URI and those settings.
 *
 * @example
 * const { uri, settings } = await prepareDrillEvidence(opts, opts.reportDir);
 */
export async function prepareDrillEvidence(
  flags: DrillFlags,
  reportDir: string,
): Promise<{ readonly uri: string | undefined; readonly settings: DrillSettings }> {
  const store = await openConfiguredStore(flags, { check: true });
  try {
    await store?.syncInto(reportDir, { exclusive: true });
  } finally {
    store?.destroy();
  }
  return { uri: store?.uri, settings: drillEvidenceSettings(store, flags) };
}

/** Where `history` and `controls` read reports from: a directory, or a copy of the evidence store. */
export interface ReportSource {
  /** A local directory holding the reports. */
  readonly dir: string;
  /** What to call it in the output: the directory, or the store's URI. */
  readonly label: string;
  /** Removes a temporary copy and closes the store. */
  close(): Promise<void>;
}

/**
 * The reports to read: `dir` as it is, or, with an evidence store, the store's reports copied into `dir`
 * (only those it lacks) or into a temporary directory when no `dir` is named.
 *
 * @example
 * const source = await reportSource(dir, opts);
 * try { await loadHistory(source.dir); } finally { await source.close(); }
 */
export async function reportSource(dir: string | undefined, flags: EvidenceFlags): Promise<ReportSource> {
  const store = await openConfiguredStore(flags);
  if (!store) {
    if (dir === undefined)
      throw new ConfigError(
        'no report directory given',
        'name the report directory, or an evidence store with --evidence s3://BUCKET/PREFIX',
      );
    return { dir, label: dir, close: async () => {} };
  }
  const target = dir ?? (await mkdtemp(join(tmpdir(), 'restore-drill-evidence-')));
  try {
    await store.syncInto(target);
  } catch (error) {
    store.destroy();
    if (dir === undefined) await rm(target, { recursive: true, force: true });
    throw error;
  }
  store.destroy();
  return {
    dir: target,
    label: store.uri,
    close: async () => {
      if (dir === undefined) await rm(target, { recursive: true, force: true });
    },
  };
}

/**
 * The history of the reports `source` holds, read and then closed; no reports at all is a user mistake
 * (a wrong directory), not an empty history.
 *
 * @example
 * const history = await readSourceHistory(await reportSource(dir, opts), { graceSeconds: 0 });
 */
export async function readSourceHistory(source: ReportSource, options: LoadHistoryOptions): Promise<ReportHistory> {
  let history;
  try {
    history = await loadHistory(source.dir, options);
  } finally {
    await source.close();
  }
  if (history.files === 0) {
    throw new ConfigError(
      `no reports in ${source.label}`,
      'pass the directory the drills wrote their .report.json files to',
    );
  }
  return history;
}

/**
 * A history read from a temporary copy of the store, with the copy's path in ledger problems replaced by
 * the store's URI (the path means nothing to the reader, and is gone by the time they read it).
 */
export function relabel(history: ReportHistory, source: ReportSource): ReportHistory {
  if (source.label === source.dir) return history;
  const problems = history.ledger?.problems.map((p) => p.replaceAll(source.dir, source.label));
  return {
    ...history,
    dir: source.label,
    ...(history.ledger && problems ? { ledger: { ...history.ledger, problems } } : {}),
  };
}
