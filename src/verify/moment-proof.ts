// Where a point-in-time restore landed, proved twice: by the server's own recovery messages (the last
// commit it replayed and the first one it refused), and by the restore-drill markers found in the restored
// data (none may be newer than the target). Each is a check that can fail.

import { describeTarget, type RecoveryTarget } from '../model/physical-backup.ts';
import type { StoredMarker } from '../model/marker.ts';
import type { CheckResult } from '../model/report.ts';

/** What the server said about its replay (the physical restore's environment facts). */
export interface ReplayOutcome {
  /** e.g. `recovery stopping before commit of transaction 745, time 2026-12-02 08:10:00.123456+00`. */
  readonly recoveryStop: string | null;
  /** The last replayed commit's time as the server printed it, e.g. `2026-12-02 08:09:59.870012+00`. */
  readonly lastReplayedCommit: string | null;
  readonly redoDoneAt: string | null;
  /** Restored to a marker's own position: the marker, that position, and the commits before it its snapshot did not see. */
  readonly walMarker?: string | null;
  readonly walMarkerLsn?: string | null;
  readonly walMarkerLateCommits?: string | null;
}

/** A time as PostgreSQL logs it (`2026-12-02 08:10:00.123456+00`), to the millisecond; null if it is not one. */
export function parseServerTime(text: string | null | undefined): Date | null {
  const match = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?)\d*([+-]\d{2})(?::?(\d{2}))?$/.exec(
    text?.trim() ?? '',
  );
  if (!match) return null;
  const date = new Date(`${match[1]}T${match[2]}${match[3]}:${match[4] ?? '00'}`);
  return Number.isNaN(date.getTime()) ? null : date;
}

/**
 * The checks proving the moment a physical restore landed at: `WAL replay stopped at the target` (from the
 * server's recovery messages) and `markers place the copy before the target` (from the markers in the
 * restored data; skipped, saying so, when there are none).
 *
 * @example
 * const checks = momentChecks({ type: 'time', time: target }, replayOutcome, await readMarkers(client));
 */
export function momentChecks(
  target: RecoveryTarget,
  replay: ReplayOutcome,
  markers: readonly StoredMarker[],
): CheckResult[] {
  const checks = [replayCheck(target, replay), markerCheck(target, replay, markers)];
  if (target.type === 'marker') checks.push(snapshotCheck(replay));
  return checks;
}

/** `the copy is exactly the marker's snapshot`: no transaction its snapshot did not see committed before its position. */
function snapshotCheck(replay: ReplayOutcome): CheckResult {
  const late = replay.walMarkerLateCommits ?? '';
  return {
    name: "the copy is exactly the marker's snapshot",
    status: late === '' ? 'passed' : 'failed',
    expected: `no commit before ${replay.walMarkerLsn ?? 'its position'} that marker ${replay.walMarker ?? ''} did not see`,
    actual: late === '' ? 'none' : `transaction(s) ${late}`,
    detail:
      late === ''
        ? 'every transaction committed before the position was visible to the snapshot, and every one it saw committed before it: every table compares exactly'
        : 'these transactions committed while the marker took its snapshot (before its position in the WAL, unseen by it): tables they changed differ from the marker, not because the restore lost data',
  };
}

function replayCheck(target: RecoveryTarget, replay: ReplayOutcome): CheckResult {
  const name = 'WAL replay stopped at the target';
  const expected = describeTarget(target);
  const last = replay.lastReplayedCommit ?? 'none';
  const stop = replay.recoveryStop;
  const result = (passed: boolean, actual: string, detail: string): CheckResult => ({
    name,
    status: passed ? 'passed' : 'failed',
    expected,
    actual,
    detail,
  });
  switch (target.type) {
    case 'time': {
      const lastAt = parseServerTime(replay.lastReplayedCommit);
      const next = /before commit of transaction \d+, time (.+)$/.exec(stop ?? '')?.[1];
      const nextAt = parseServerTime(next);
      // Millisecond resolution: the server compares microseconds; a next commit in the target's own millisecond passes.
      const passed =
        (lastAt === null || lastAt.getTime() <= target.time.getTime()) &&
        nextAt !== null &&
        nextAt.getTime() >= target.time.getTime();
      return result(
        passed,
        `last replayed commit ${last}; first commit not replayed ${next ?? 'none'}`,
        passed
          ? `the restored copy is the database between ${last} and ${next}: every commit up to the target, none after it`
          : `the server did not stop between a commit before the target and one after it (${stop ?? 'no recovery stop reported'})`,
      );
    }
    case 'xid':
      return result(
        new RegExp(`after commit of transaction ${target.xid}\\b`).test(stop ?? ''),
        stop ?? 'no recovery stop reported',
        `last replayed commit ${last}`,
      );
    case 'marker':
    case 'lsn':
      return result(
        (stop ?? '').includes(`"${target.type === 'lsn' ? target.lsn : (replay.walMarkerLsn ?? '?')}"`),
        stop ?? 'no recovery stop reported',
        `last replayed commit ${last}`,
      );
    case 'immediate':
      return result(
        /after reaching consistency/.test(stop ?? ''),
        stop ?? 'no recovery stop reported',
        `last replayed commit ${last}`,
      );
    case 'random':
      // Settled into a time before replay; unsettled, nothing says where the restore landed.
      return result(false, stop ?? 'no recovery stop reported', 'the random moment was never settled from the WAL');
    case 'latest':
      return result(
        stop === null && replay.redoDoneAt !== null,
        `replayed to ${replay.redoDoneAt ?? 'an unknown point'}; last replayed commit ${last}`,
        'the end of the archive: every archived segment from the backup on was present (checked before replay) and replayed',
      );
  }
}

function markerCheck(target: RecoveryTarget, replay: ReplayOutcome, markers: readonly StoredMarker[]): CheckResult {
  const name = 'markers place the restored copy at the target';
  const limit = target.type === 'time' ? target.time : parseServerTime(replay.lastReplayedCommit);
  const limitText =
    target.type === 'time'
      ? `the target ${target.time.toISOString()}`
      : `the last replayed commit ${replay.lastReplayedCommit ?? '(none)'}`;
  const expected = `no marker after ${limitText}`;
  if (markers.length === 0) {
    return {
      name,
      status: 'skipped',
      expected,
      actual: null,
      detail:
        "no restore-drill markers in the restored copy: the moment rests on the server's recovery messages alone (run restore-drill mark on a schedule)",
    };
  }
  if (!limit)
    return {
      name,
      status: 'skipped',
      expected,
      actual: null,
      detail: 'no replayed commit time to compare the markers with',
    };
  const after = markers.filter((marker) => new Date(marker.takenAt).getTime() > limit.getTime());
  const before = markers
    .filter((marker) => !after.includes(marker))
    .sort((a, b) => b.takenAt.localeCompare(a.takenAt))[0];
  if (after.length > 0) {
    return {
      name,
      status: 'failed',
      expected,
      actual: `${after.length} newer: ${after.map((m) => `#${m.id} taken ${m.takenAt}`).join(', ')}`,
      detail: 'the restored copy holds data written after the moment it was restored to',
    };
  }
  const precision = before ? (limit.getTime() - new Date(before.takenAt).getTime()) / 1000 : null;
  return {
    name,
    status: 'passed',
    expected,
    actual: before ? `newest marker #${before.id} taken ${before.takenAt}` : 'none',
    detail: before
      ? `the newest marker before the target is in the copy and none after it; it is ${precision!.toFixed(3)} s before ${limitText} (the proof's precision: markers after the target are absent by construction, production's list is not read)`
      : 'no marker before the target',
  };
}
