// The rotation of budgeted verification remembers which key ranges earlier runs checksummed. That memory is
// the drill's own signed reports, never a local cache: a report whose signature does not verify with this
// run's key says nothing about what was checked, so it is left out (and the history says so).
import type { KeyObject } from 'node:crypto';
import { join } from 'node:path';
import type { EvidenceStore } from '../evidence/evidence-store.ts';
import { listReportFiles, REPORT_SUFFIX, reportSlug } from '../evidence/report-files.ts';
import { verifyReportFile } from '../evidence/report-verifier.ts';

/** The earlier runs' coverage a budgeted verification plans from. */
export interface CoverageHistory {
  /** Per earlier signed run of the drill that verified under a budget, newest first: the key ranges it checksummed. */
  readonly runs: string[][];
  /** One line for the report: where the history came from, or why there is none and the rotation starts over. */
  readonly note: string;
}

/** Where {@link readCoverageHistory} looks, and what it trusts. */
export interface CoverageHistoryOptions {
  readonly reportDir: string;
  readonly drillName: string;
  /** Reports count only when their signature verifies with this key (the key this run signs with). */
  readonly publicKey: KeyObject;
  /** Copied into `reportDir` first (only the reports it lacks), so a run on a new machine continues the rotation. */
  readonly evidence?: EvidenceStore;
  /**
   * Positions (`<table>#<bucket>`) the current markers have: reading stops once the runs read cover them all,
   * since older runs cannot change the plan.
   */
  readonly positions: ReadonlySet<string>;
}

/**
 * The key ranges earlier runs of a drill checksummed, read from its signed reports (newest first) in the
 * report directory, after filling it from the evidence store when there is one. Never throws: an unreadable
 * directory or store gives no history, and the note says the rotation starts from the first range.
 *
 * @example
 * const history = await readCoverageHistory({ reportDir: 'reports', drillName: 'shop', publicKey, positions });
 * compareWithinBudget(config, manifest, { label: 'manifest', budgetSeconds: 1800, history: history.runs });
 */
export async function readCoverageHistory(options: CoverageHistoryOptions): Promise<CoverageHistory> {
  const { reportDir, drillName, publicKey, evidence, positions } = options;
  const startOver = 'the rotation starts from the first key range';
  try {
    await evidence?.syncInto(reportDir);
  } catch (error) {
    return { runs: [], note: `the evidence store could not be read (${firstLine(error)}): ${startOver}` };
  }
  let names: string[];
  try {
    names = await listReportFiles(reportDir, { warn: () => {} });
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'ENOENT') return { runs: [], note: `no earlier report of this drill in ${reportDir}: ${startOver}` };
    return { runs: [], note: `${reportDir} could not be read (${code ?? firstLine(error)}): ${startOver}` };
  }
  const slug = reportSlug(drillName);
  // `<UTC time>-<slug>.report.json`, or `…-<slug>-<n>.report.json` when two reports got the same second.
  const ours = names.filter((name) =>
    new RegExp(`^\\d{8}T\\d{6}Z-${slug}(?:-\\d+)?${REPORT_SUFFIX.replaceAll('.', '\\.')}$`).test(name),
  );
  const runs: string[][] = [];
  const seen = new Set<string>();
  let untrusted = 0;
  for (const name of ours.reverse()) {
    if ([...positions].every((position) => seen.has(position))) break;
    const verified = await verifyReportFile(join(reportDir, name), publicKey).catch(() => undefined);
    if (!verified?.valid || !verified.report) {
      untrusted++;
      continue;
    }
    if (verified.report.drill.name !== drillName) continue;
    const covered = coveredRanges(verified.report.verification);
    if (!covered) continue;
    runs.push(covered);
    for (const id of covered) seen.add(id.replace(/@[^@]*$/, ''));
  }
  const left =
    untrusted > 0
      ? `; ${untrusted} report(s) of this drill left out: their signature does not verify with this run's key`
      : '';
  if (runs.length === 0)
    return { runs, note: `no earlier signed report of this drill verified under a budget${left}: ${startOver}` };
  return { runs, note: `the key ranges of ${runs.length} earlier signed report(s) of this drill${left}` };
}

/** The ranges a signed report says it checksummed; undefined when it verified without a budget (or says nothing usable). */
function coveredRanges(verification: unknown): string[] | undefined {
  const coverage = (verification as { coverage?: unknown } | undefined)?.coverage;
  if (!Array.isArray(coverage)) return undefined;
  const covered: unknown[] = coverage.flatMap((c: { covered?: unknown }) =>
    Array.isArray(c?.covered) ? (c.covered as unknown[]) : [],
  );
  return covered.filter((id): id is string => typeof id === 'string');
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0]!;
}
