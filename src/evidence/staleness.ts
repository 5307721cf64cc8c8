import { formatDuration, parseDuration } from '../util/duration.ts';

/** The grace added to a drill's cadence before it counts as stale, unless `--grace` says otherwise. */
export const DEFAULT_GRACE = '7d';

/** What staleness is judged from: one report of a drill. */
export interface CadencedReport {
  readonly drill: string;
  readonly finishedAt: string | null;
  readonly cadence: string | null;
  readonly file: string;
}

/** A drill whose newest report is older than its cadence plus the grace. */
export interface StaleDrill {
  readonly drill: string;
  /** The drill's newest report. */
  readonly file: string;
  readonly finishedAt: string;
  readonly cadence: string;
  /** When the next report was due at the latest: newest report + cadence + grace (ISO 8601 UTC). */
  readonly dueBy: string;
}

/** Where each drill stands: stale, fresh, or not judged because its newest report declares no cadence. */
export interface Freshness {
  readonly stale: StaleDrill[];
  /** Drills whose newest report declares no cadence: nobody said how often they should run. */
  readonly undeclared: string[];
}

/**
 * Finds the drills whose newest report (the last of each drill in `reports`, which are oldest first)
 * finished longer ago than its cadence plus `graceSeconds`. A drill that stopped running, or whose last
 * reports were removed, shows up here.
 *
 * @example
 * findStaleDrills(entries, { now: new Date(), graceSeconds: 7 * 86400 }).stale.map((s) => s.drill); // ['orders']
 */
export function findStaleDrills(
  reports: readonly CadencedReport[],
  options: { now: Date; graceSeconds: number },
): Freshness {
  const newest = new Map<string, CadencedReport>();
  for (const report of reports) newest.set(report.drill, report);
  const stale: StaleDrill[] = [];
  const undeclared: string[] = [];
  for (const [drill, report] of [...newest.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    const cadenceSeconds = cadenceOf(report.cadence);
    const finished = report.finishedAt === null ? Number.NaN : Date.parse(report.finishedAt);
    if (cadenceSeconds === null || Number.isNaN(finished)) {
      undeclared.push(drill);
      continue;
    }
    const dueBy = finished + (cadenceSeconds + options.graceSeconds) * 1000;
    if (options.now.getTime() > dueBy) {
      stale.push({
        drill,
        file: report.file,
        finishedAt: report.finishedAt!,
        cadence: report.cadence!,
        dueBy: new Date(dueBy).toISOString(),
      });
    }
  }
  return { stale, undeclared };
}

/**
 * One line about a stale drill, for every view.
 *
 * @example
 * describeStale(stale); // 'drill "orders" is STALE: newest report finished 2026-09-01T03:20Z, cadence 1mo + grace 7d, due by 2026-10-08T03:20Z'
 */
export function describeStale(stale: StaleDrill, graceSeconds: number): string {
  return (
    `drill "${stale.drill}" is STALE: its newest report (${stale.file}) finished ${stale.finishedAt}; ` +
    `cadence ${stale.cadence} + grace ${formatDuration(graceSeconds)}: the next was due by ${stale.dueBy}`
  );
}

/** A signed cadence in seconds; null when absent or unreadable (then it is treated as not declared). */
function cadenceOf(cadence: string | null): number | null {
  if (!cadence) return null;
  try {
    const seconds = parseDuration(cadence, 'cadence');
    return seconds > 0 ? seconds : null;
  } catch {
    return null;
  }
}
