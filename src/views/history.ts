import type { KeyObject } from 'node:crypto';
import { join } from 'node:path';
import { ConfigError } from '../errors.ts';
import { DEFAULT_GRACE, findStaleDrills, type Freshness } from '../evidence/staleness.ts';
import { parseDuration } from '../util/duration.ts';
import { verifyEnvelope } from '../evidence/dsse.ts';
import { monthOf, type Month } from './history-months.ts';
import { listReportFiles, readReportFile } from '../evidence/report-files.ts';
import type { DrillReport, DrillStatus, ObjectiveResult } from '../model/report.ts';
import { verifyLedger, type LedgerVerification } from '../evidence/report-verifier.ts';
import { fingerprint } from '../evidence/signing-key.ts';
import { parseStatement } from '../evidence/statement.ts';

/**
 * What is known about one report's signature. `unchecked` means no public key was given: the report is
 * shown as it claims to be, with the key id it names (an unauthenticated hint).
 */
export type SignatureCheck =
  | { readonly state: 'verified'; readonly keyid: string }
  | { readonly state: 'invalid'; readonly keyid: string; readonly reason: string }
  | { readonly state: 'unchecked'; readonly keyid: string | null };

/** One run of a drill, as read from its report file. */
export interface HistoryRun {
  /** File name of the `.report.json` inside the report directory. */
  readonly file: string;
  readonly report: DrillReport;
  readonly signature: SignatureCheck;
  /** False when the signature is invalid: such a run is listed but left out of aggregates and forecasts. */
  readonly trusted: boolean;
  /** UTC month of `startedAt`. */
  readonly month: Month;
  readonly status: DrillStatus;
  /** Seconds of the `restore` phase when it completed, else null (not restored, failed or interrupted). */
  readonly restoreSeconds: number | null;
  readonly rto: ObjectiveResult;
  readonly rpo: ObjectiveResult;
}

/** Maximum and median of the values of one month. */
export interface MonthStat {
  readonly max: number;
  readonly median: number;
}

/** What the trusted runs of one drill in one month add up to. */
export interface MonthSummary {
  readonly month: Month;
  readonly runs: number;
  readonly passed: number;
  /** Runs with status `failed` or `error`. */
  readonly failed: number;
  /** Completed restore phases, in seconds; null when none completed that month. */
  readonly restore: MonthStat | null;
  /** Achieved RPO, in seconds; null when none was measured that month. */
  readonly rpo: MonthStat | null;
  /** Targets of the month's latest run that had one. */
  readonly rtoTargetSeconds: number | null;
  readonly rpoTargetSeconds: number | null;
}

/** Every run of one drill, oldest first, and its months. */
export interface DrillHistory {
  readonly name: string;
  readonly runs: HistoryRun[];
  /** Months that have trusted runs, oldest first (months without runs are absent). */
  readonly months: MonthSummary[];
}

/** A `.report.json` that could not be read as a report at all. */
export interface UnreadableReport {
  readonly file: string;
  readonly reason: string;
}

/** A report directory read as history: per drill, its runs over time, and the verdict on its ledger. */
export interface ReportHistory {
  readonly dir: string;
  /** Key id of the public key signatures were checked against; null when none was given. */
  readonly keyid: string | null;
  /** Drills by name. */
  readonly drills: DrillHistory[];
  readonly unreadable: UnreadableReport[];
  /** The ledger verdict ({@link verifyLedger}); null when no public key was given. */
  readonly ledger: LedgerVerification | null;
  /** Number of `.report.json` files read. */
  readonly files: number;
  /** Which drills are stale: their newest trusted report is older than their cadence plus the grace. */
  readonly freshness?: Freshness & { readonly graceSeconds: number };
}

/** What {@link loadHistory} checks signatures against. */
export interface LoadHistoryOptions {
  /** Without it, reports are read as they claim to be and marked `unchecked`; the ledger is not checked. */
  readonly publicKey?: KeyObject;
  /** How far past its cadence a drill's newest report may be before it is stale; default 7 days. */
  readonly graceSeconds?: number;
  /** The time staleness is judged at; default now. */
  readonly now?: Date;
}

/**
 * Reads every report of a directory into a history per drill. With a public key every signature is
 * verified (and the ledger chain too); runs whose signature fails stay listed, marked `invalid`, so nothing
 * an auditor should see is hidden — but their numbers do not enter aggregates or forecasts.
 *
 * @example
 * const history = await loadHistory('reports', { publicKey: loadPublicKey('pub.pem') });
 * for (const drill of history.drills) console.log(drill.name, drill.runs.length);
 */
export async function loadHistory(dir: string, options: LoadHistoryOptions = {}): Promise<ReportHistory> {
  const names = await listReports(dir);
  const { publicKey } = options;
  const runs: HistoryRun[] = [];
  const unreadable: UnreadableReport[] = [];
  for (const file of names) {
    const bytes = await readReportFile(join(dir, file));
    const read = 'bytes' in bytes ? readRun(file, bytes.bytes, publicKey) : { file, reason: bytes.reason };
    if ('reason' in read) unreadable.push(read);
    else runs.push(read);
  }
  const graceSeconds = options.graceSeconds ?? parseDuration(DEFAULT_GRACE);
  // A run whose signature failed cannot make its drill look fresh.
  const trusted = runs
    .filter((run) => run.trusted)
    .map((run) => ({
      drill: run.report.drill.name,
      finishedAt: run.report.finishedAt,
      cadence: run.report.cadence ?? null,
      file: run.file,
    }));
  return {
    dir,
    keyid: publicKey ? fingerprint(publicKey) : null,
    drills: groupByDrill(runs),
    unreadable,
    ledger: publicKey ? await verifyLedger(dir, publicKey) : null,
    files: names.length,
    freshness: { ...findStaleDrills(trusted, { now: options.now ?? new Date(), graceSeconds }), graceSeconds },
  };
}

/**
 * Groups runs per drill name (drills sorted by name, runs by start time) and adds up their months.
 *
 * @example
 * groupByDrill(runs).map((d) => d.name); // ['billing', 'orders']
 */
export function groupByDrill(runs: readonly HistoryRun[]): DrillHistory[] {
  const byName = new Map<string, HistoryRun[]>();
  for (const run of runs) {
    const name = run.report.drill.name;
    byName.set(name, [...(byName.get(name) ?? []), run]);
  }
  return [...byName.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, list]) => {
      const sorted = [...list].sort(
        (a, b) => a.report.startedAt.localeCompare(b.report.startedAt) || a.file.localeCompare(b.file),
      );
      return { name, runs: sorted, months: summarizeMonths(sorted) };
    });
}

/**
 * Adds up the trusted runs of one drill per UTC month: how many passed and failed, and the maximum and
 * median restore time and achieved RPO.
 *
 * @example
 * summarizeMonths(drill.runs).map((m) => [m.month, m.restore?.max]); // [['2026-10', 142], ['2026-11', 150]]
 */
export function summarizeMonths(runs: readonly HistoryRun[]): MonthSummary[] {
  const byMonth = new Map<Month, HistoryRun[]>();
  for (const run of runs) {
    if (!run.trusted) continue;
    byMonth.set(run.month, [...(byMonth.get(run.month) ?? []), run]);
  }
  return [...byMonth.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([month, list]) => {
      const latestTarget = (pick: (run: HistoryRun) => number | null) =>
        list
          .map(pick)
          .filter((value): value is number => value !== null)
          .at(-1) ?? null;
      return {
        month,
        runs: list.length,
        passed: list.filter((run) => run.status === 'passed').length,
        failed: list.filter((run) => run.status !== 'passed').length,
        restore: stat(list.map((run) => run.restoreSeconds)),
        rpo: stat(list.map((run) => run.rpo.actualSeconds)),
        rtoTargetSeconds: latestTarget((run) => run.rto.targetSeconds),
        rpoTargetSeconds: latestTarget((run) => run.rpo.targetSeconds),
      };
    });
}

function stat(values: readonly (number | null)[]): MonthStat | null {
  const present = values.filter((value): value is number => value !== null).sort((a, b) => a - b);
  if (present.length === 0) return null;
  const middle = Math.floor(present.length / 2);
  const median = present.length % 2 === 1 ? present[middle]! : (present[middle - 1]! + present[middle]!) / 2;
  return { max: present.at(-1)!, median };
}

async function listReports(dir: string): Promise<string[]> {
  try {
    return await listReportFiles(dir);
  } catch (error) {
    const code = (error as { code?: string }).code;
    const hint = 'pass the directory the drills wrote their reports to (--report-dir; default reports/)';
    if (code === 'ENOENT') throw new ConfigError(`report directory not found: ${dir}`, hint);
    if (code === 'ENOTDIR') throw new ConfigError(`${dir} is not a directory`, hint);
    throw new ConfigError(`report directory ${dir} is not readable: ${code ?? (error as Error).message}`, hint);
  }
}

function readRun(file: string, bytes: Buffer, publicKey: KeyObject | undefined): HistoryRun | UnreadableReport {
  let envelope: unknown;
  try {
    envelope = JSON.parse(bytes.toString('utf8'));
  } catch {
    return { file, reason: 'not a DSSE envelope: not JSON' };
  }
  let signature: SignatureCheck;
  let statement: unknown;
  if (publicKey) {
    const verified = verifyEnvelope(envelope, publicKey);
    const keyid = fingerprint(publicKey);
    signature = verified.valid ? { state: 'verified', keyid } : { state: 'invalid', keyid, reason: verified.reason };
    statement = verified.valid ? verified.statement : unverifiedStatement(envelope);
  } else {
    signature = { state: 'unchecked', keyid: claimedKeyid(envelope) };
    statement = unverifiedStatement(envelope);
  }
  const parsed = parseStatement(statement);
  if ('reason' in parsed) {
    return { file, reason: signature.state === 'invalid' ? `${signature.reason}; ${parsed.reason}` : parsed.reason };
  }
  const report = parsed.report;
  // A signed report always has these; a tampered or foreign one read unchecked may not.
  if (
    Number.isNaN(Date.parse(report.startedAt)) ||
    !report.objectives?.rto ||
    !report.objectives?.rpo ||
    !report.drill?.name
  ) {
    return { file, reason: signature.state === 'invalid' ? signature.reason : 'predicate is not a complete report' };
  }
  const restore = report.phases?.find((phase) => phase.name === 'restore' && phase.status === 'ok');
  return {
    file,
    report,
    signature,
    trusted: signature.state !== 'invalid',
    month: monthOf(report.startedAt),
    status: report.status,
    restoreSeconds: restore ? restore.seconds : null,
    rto: report.objectives.rto,
    rpo: report.objectives.rpo,
  };
}

/** The payload read without checking its signature (to show what a tampered file claims, or without a key). */
function unverifiedStatement(envelope: unknown): unknown {
  const payload = (envelope as { payload?: unknown } | null)?.payload;
  if (typeof payload !== 'string') return undefined;
  try {
    return JSON.parse(Buffer.from(payload, 'base64').toString('utf8'));
  } catch {
    return undefined;
  }
}

function claimedKeyid(envelope: unknown): string | null {
  const signatures = (envelope as { signatures?: unknown } | null)?.signatures;
  const keyid = Array.isArray(signatures) ? (signatures[0] as { keyid?: unknown } | undefined)?.keyid : undefined;
  return typeof keyid === 'string' && keyid !== '' ? keyid : null;
}
