// A marker found in restored data, and a manifest found beside a dump, came with the backup: whoever could
// write the backup could write them. Before either vouches for the data or dates it, it is checked against
// what the drill knows on its own — its clock, the recovery point's time, the tables that came back, the other.
import type { CheckResult, RpoBasis } from '../model/report.ts';
import type { Marker, QualifiedName } from '../model/marker.ts';

/**
 * How far a marker's time may run ahead of another clock (the drill host's, the backup's) before it counts as
 * dated in the future: servers' clocks disagree by a little. At most this much RPO can be won by forging.
 */
export const CLOCK_SKEW_SECONDS = 60;

/** What the drill knows about a marker or manifest without trusting it. */
export interface EvidenceContext {
  /** When the drill started: no marker can be newer. */
  readonly drillStartedAt: Date;
  /** The recovery point's creation time and where it came from; a marker inside it cannot be newer. */
  readonly recoveryPoint?: { readonly createdAt: Date; readonly createdAtBasis: string };
  /** The user tables in the restored database (keys as markers write them). */
  readonly restoredTables: readonly QualifiedName[];
}

/**
 * The check `marker #<id> trusted`: the newest in-database marker of the restored data may be believed. It
 * fails, naming each reason, when the marker is
 * - dated after the drill's start or after the recovery point's creation time (more than
 *   {@link CLOCK_SKEW_SECONDS}): the backup cannot hold a marker taken after it;
 * - newer than the dump's manifest, or counts more rows of an append-only table than the manifest found in
 *   the whole table: both were taken on the same server, the marker before the dump's snapshot;
 * - covering none of the restored tables, or (without a manifest, when it is the only marker) fewer than half.
 * A marker that fails is still compared table by table (that is evidence too), but is never the basis of the RPO.
 */
export function markerTrustCheck(
  marker: Marker & { readonly id: string },
  manifest: Marker | undefined,
  context: EvidenceContext,
): CheckResult {
  const problems = [...datingProblems(marker, context)];
  if (manifest) {
    if (seconds(marker.takenAt) > seconds(manifest.takenAt)) {
      problems.push(
        `it is dated ${marker.takenAt}, after the dump's own manifest (${manifest.takenAt}), which was taken after every marker the dump holds`,
      );
    }
    for (const [table, recorded] of Object.entries(marker.tables)) {
      const whole = manifest.tables[table];
      if (recorded.mode === 'append-only' && whole && recorded.rows > whole.rows) {
        problems.push(
          `it counts ${recorded.rows} rows of append-only ${table}, the dump's manifest ${whole.rows} in the whole table`,
        );
      }
    }
  }
  const covered = context.restoredTables.filter((table) => marker.tables[table]).length;
  const total = context.restoredTables.length;
  if (total > 0 && covered === 0) problems.push(`it covers none of the ${total} tables in the restored database`);
  else if (!manifest && covered * 2 < total)
    problems.push(`it covers only ${covered} of the ${total} tables in the restored database`);
  return trustCheck(
    `marker #${marker.id} trusted`,
    problems,
    `${covered} of ${total} restored tables covered, dated ${marker.takenAt}`,
  );
}

/**
 * The check `manifest trusted`: the manifest beside the dump may be believed. It fails when it is dated after
 * the drill's start (or after the recovery point's creation time, unless that time is the manifest's own), or
 * when it leaves out a table the dump restored — a manifest is taken of every table, in the dump's own snapshot.
 */
export function manifestTrustCheck(manifest: Marker, context: EvidenceContext): CheckResult {
  const problems = datingProblems(manifest, context);
  const missing = context.restoredTables.filter((table) => !manifest.tables[table]);
  if (missing.length > 0) {
    problems.push(
      `it leaves out ${missing.length} of the ${context.restoredTables.length} tables the dump restored (${listed(missing)})`,
    );
  }
  return trustCheck(
    'manifest trusted',
    problems,
    `all ${context.restoredTables.length} restored tables covered, dated ${manifest.takenAt}`,
  );
}

function datingProblems(marker: Marker, context: EvidenceContext): string[] {
  const problems: string[] = [];
  const at = seconds(marker.takenAt);
  if (Number.isNaN(at)) return [`its time "${marker.takenAt}" is not a time`];
  if (at > context.drillStartedAt.getTime() / 1000 + CLOCK_SKEW_SECONDS) {
    problems.push(
      `it is dated ${marker.takenAt}, in the future: after the drill started (${context.drillStartedAt.toISOString()})`,
    );
  }
  const point = context.recoveryPoint;
  // A manifest-dated recovery point takes its time from the manifest: comparing the two would prove nothing.
  if (point && point.createdAtBasis !== 'manifest' && at > point.createdAt.getTime() / 1000 + CLOCK_SKEW_SECONDS) {
    problems.push(
      `it is dated ${marker.takenAt}, after the recovery point was made (${point.createdAt.toISOString()}, from its ${point.createdAtBasis})`,
    );
  }
  return problems;
}

function trustCheck(name: string, problems: readonly string[], summary: string): CheckResult {
  return problems.length === 0
    ? {
        name,
        status: 'passed',
        expected: 'dated before the backup, consistent, covering the restored tables',
        actual: summary,
      }
    : {
        name,
        status: 'failed',
        expected: 'dated before the backup, consistent, covering the restored tables',
        actual: problems.length === 1 ? '1 problem' : `${problems.length} problems`,
        detail: `not believed: ${problems.join('; ')}`,
      };
}

/**
 * What the restored tables' checks leave unverified, one line each: tables that are in no marker compared
 * (present in the restored database, absent from every marker — never silently dropped), and tables a marker
 * recorded without a checksum because printing them was not safe in production (`notHashed`).
 */
export function unverifiedTables(
  restoredTables: readonly QualifiedName[],
  markers: ReadonlyArray<Marker | undefined>,
): string[] {
  const used = markers.filter((marker): marker is Marker => marker !== undefined);
  const lines: string[] = [];
  for (const table of restoredTables) {
    const recorded = used.map((marker) => marker.tables[table]).filter((entry) => entry !== undefined);
    if (recorded.length === 0) lines.push(`table ${table}: in the restored database, in no marker`);
    else if (recorded.every((entry) => entry.notHashed))
      lines.push(`table ${table}: rows counted only, ${recorded[0]!.notHashed}`);
  }
  return lines;
}

/** One candidate time of the data in the restored copy, for the achieved RPO. */
export interface RpoEvidence {
  readonly basis: RpoBasis;
  /** ISO time of the evidence. */
  readonly at: string;
  /** Names it in the RPO check's detail, e.g. `marker #3` or `the dump's manifest`. */
  readonly label: string;
}

/**
 * The newest of the trusted evidence of the data's time (a marker found in the restored data, the dump's
 * manifest, …): the restored copy holds at least the data up to it, so the achieved RPO is measured from it.
 * Undefined when there is none.
 */
export function newestEvidence(candidates: ReadonlyArray<RpoEvidence | undefined>): RpoEvidence | undefined {
  let newest: RpoEvidence | undefined;
  for (const candidate of candidates) {
    if (candidate && !Number.isNaN(seconds(candidate.at)) && (!newest || seconds(candidate.at) > seconds(newest.at)))
      newest = candidate;
  }
  return newest;
}

function seconds(iso: string): number {
  return Date.parse(iso) / 1000;
}

function listed(tables: readonly string[]): string {
  return tables.length <= 5 ? tables.join(', ') : `${tables.slice(0, 5).join(', ')} and ${tables.length - 5} more`;
}
