// The moment a physical restore replays to, settled from the staged WAL before replay: a marker's own
// position, a random moment inside the window, or a time checked against the archive's last commit (a target
// after it would only end in the server's FATAL "recovery ended before the target").

import { randomInt } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError } from '../../errors.ts';
import type { WalMarker } from '../../model/marker.ts';
import type { RecoveryTarget } from '../../model/physical-backup.ts';
import { formatLsn, parseLsn } from '../../sources/basebackup/wal-archive.ts';
import type { PhysicalCluster } from './physical-cluster.ts';
import { restoredEntry } from './restored-entry.ts';
import { findWalMarkers, lateCommits, type WalDump } from './wal-markers.ts';

/** The target as the server is given it, with what settled it. */
export interface SettledMoment {
  /** `lsn`, `time` or the target as asked (`latest`, `immediate`, `xid`, `lsn`). */
  readonly target: RecoveryTarget;
  /** Stop just before `target` (a marker's position) rather than just after it. */
  readonly exclusive: boolean;
  readonly marker?: { readonly marker: WalMarker; readonly late: bigint[] };
  /** The last commit in the staged WAL after the backup's consistency point, when the WAL was read. */
  readonly lastCommit?: Date;
}

/**
 * Settles `target` from the WAL staged in `stage` (read with pg_waldump from the backup's start `fromLsn`).
 * `consistentLsn` is where the backup becomes consistent, when known (no moment before it is reachable).
 *
 * @example
 * const settled = await settleMoment(cluster, stage, label.startLsn, undefined, { type: 'marker' }, signal, log);
 */
export async function settleMoment(
  cluster: PhysicalCluster,
  stage: string,
  fromLsn: string,
  consistentLsn: string | undefined,
  target: RecoveryTarget,
  signal: AbortSignal | undefined,
  log: (line: string) => void,
): Promise<SettledMoment> {
  if (target.type !== 'marker' && target.type !== 'random' && target.type !== 'time')
    return { target, exclusive: false };
  const dump = await findWalMarkers(cluster, stage, fromLsn, signal);
  const consistent = parseLsn(consistentLsn ?? (await manifestEndLsn(cluster.dataDir)) ?? fromLsn);
  const commits = dump.commits.filter((c) => c.lsn > consistent && c.at !== null) as Array<{ at: Date }>;
  const lastCommit = commits.at(-1)?.at;
  if (target.type === 'marker') {
    const marker = markerPosition(dump, consistent, fromLsn, log);
    return {
      target: { type: 'lsn', lsn: marker.marker.lsn },
      exclusive: true,
      marker,
      ...(lastCommit ? { lastCommit } : {}),
    };
  }
  if (!lastCommit) {
    throw new ConfigError(
      `the WAL archive holds no commit after the backup became consistent (${formatLsn(consistent)}): there is no moment to restore to but its end`,
      "pick 'latest', or restore from an older backup",
    );
  }
  if (target.type === 'time') {
    // A time target stops at the first commit after it: one must exist.
    if (target.time.getTime() >= lastCommit.getTime()) {
      throw new ConfigError(
        `the target ${target.time.toISOString()} is after the WAL archive's end: its last commit is at ${lastCommit.toISOString()}`,
        "choose an earlier target, pick 'latest', or check that archiving still works",
      );
    }
    return { target, exclusive: false, lastCommit };
  }
  const first = commits[0]!.at.getTime();
  const low = Math.max(target.from.getTime(), first);
  const high = lastCommit.getTime() - 1; // strictly before the last commit, so the server finds one after it
  if (low > high) {
    throw new ConfigError(
      `no moment between ${target.from.toISOString()} and the WAL archive's last commit (${lastCommit.toISOString()}) can be restored from this backup`,
      'widen `within`, or check that archiving still works',
    );
  }
  const time = new Date(low + randomInt(high - low + 1));
  log(
    `replay: random moment ${time.toISOString()} (between ${new Date(low).toISOString()} and ${new Date(high).toISOString()})`,
  );
  return { target: { type: 'time', time }, exclusive: false, lastCommit };
}

/**
 * The marker to restore to: the newest committed one after the consistency point whose snapshot the WAL
 * reproduces exactly (no commit it did not see lies before its position), else the newest, with those commits.
 */
function markerPosition(
  dump: WalDump,
  consistent: bigint,
  fromLsn: string,
  log: (line: string) => void,
): { readonly marker: WalMarker; readonly late: bigint[] } {
  const candidates = dump.markers
    .filter((marker) => parseLsn(marker.lsn) > consistent)
    .map((marker) => ({ marker, late: lateCommits(marker, dump.commits) }))
    .reverse();
  const chosen = candidates.find((candidate) => candidate.late.length === 0) ?? candidates[0];
  if (!chosen) {
    throw new ConfigError(
      `the WAL after the backup (from ${fromLsn}) holds no restore-drill marker: there is no marker's position to restore to`,
      'run restore-drill mark after the backup, on a database with archive_mode on (mark writes its position into the WAL there)',
    );
  }
  log(
    `replay: marker #${chosen.marker.id} (taken ${chosen.marker.takenAt}) sits at ${chosen.marker.lsn}; ${dump.markers.length} marker(s) in the WAL`,
  );
  return chosen;
}

/** The End-LSN of a base backup's `backup_manifest` (where it is consistent), when it has one. */
async function manifestEndLsn(dataDir: string): Promise<string | undefined> {
  if (!(await restoredEntry(dataDir, 'backup_manifest'))?.isFile()) return undefined;
  const text = await readFile(join(dataDir, 'backup_manifest'), 'utf8').catch(() => '');
  const ranges = /"WAL-Ranges"\s*:\s*\[([^\]]*)\]/.exec(text)?.[1] ?? '';
  const ends = [...ranges.matchAll(/"End-LSN"\s*:\s*"([0-9A-F]+\/[0-9A-F]+)"/g)].map((m) => m[1]!);
  return ends.at(-1);
}
