import type pg from 'pg';
import type { StartedEnvironment } from '../../environments/environment.ts';
import { readMarkers } from '../../markers/read-markers.ts';
import { physicalTarget, type RecoveryTarget } from '../../model/physical-backup.ts';
import type { Restorable } from '../../model/recovery-point.ts';
import type { CheckResult } from '../../model/report.ts';
import { momentChecks, parseServerTime, type ReplayOutcome } from '../../verify/moment-proof.ts';
import type { DataTime } from '../run-state.ts';

/** What `verify` learns from a point-in-time restore: the proof of its moment and the time of its newest data. */
export interface PhysicalMoment {
  readonly checks: readonly CheckResult[];
  /** The last replayed commit: the newest data in the copy (for the RPO), when the server logged one. */
  readonly dataTime?: DataTime;
  /** What markers in the copy are dated against: a marker newer than the replayed data cannot be genuine. */
  readonly replayedTo?: { readonly createdAt: Date; readonly createdAtBasis: string };
}

/**
 * For a physical restorable, the checks proving where the restore landed (the server's recovery stop and the
 * markers in the restored copy) and the replayed data's time; undefined for any other restorable.
 *
 * @example
 * const moment = await physicalMoment(restorable, env, client, startedAt);
 * if (moment) recorder.check(...moment.checks);
 */
export async function physicalMoment(
  restorable: Restorable,
  env: StartedEnvironment,
  client: pg.ClientBase,
  drillStartedAt: Date,
): Promise<PhysicalMoment | undefined> {
  const asked = physicalTarget(restorable);
  if (!asked) return undefined;
  const fact = (name: string) => (typeof env.facts?.[name] === 'string' ? env.facts[name] : null);
  // A random moment was settled from the WAL before replay: it is proved as the time it became.
  const settledTime = fact('targetTime');
  const target: RecoveryTarget =
    asked.type === 'random' && settledTime ? { type: 'time', time: new Date(settledTime) } : asked;
  const replay: ReplayOutcome = {
    recoveryStop: fact('recoveryStop'),
    lastReplayedCommit: fact('lastReplayedCommit'),
    redoDoneAt: fact('redoDoneAt'),
    walMarker: fact('walMarker'),
    walMarkerLsn: fact('walMarkerLsn'),
    walMarkerLateCommits: fact('walMarkerLateCommits'),
  };
  const checks = momentChecks(target, replay, await readMarkers(client));
  const last = parseServerTime(replay.lastReplayedCommit);
  if (!last) return { checks };
  // Commit times come from the backup's WAL, untrusted: one after the drill started dates nothing.
  if (last.getTime() > drillStartedAt.getTime() + 60_000) {
    const detail = 'the WAL carries a commit time after the drill started: the backup or the production clock is wrong';
    return {
      checks: [
        ...checks,
        {
          name: 'replayed commit times are in the past',
          status: 'failed',
          expected: `≤ ${drillStartedAt.toISOString()}`,
          actual: replay.lastReplayedCommit,
          detail,
        },
      ],
    };
  }
  return {
    checks,
    dataTime: {
      basis: 'wal-replay',
      at: last.toISOString(),
      label: `the last replayed commit (${replay.lastReplayedCommit})`,
    },
    replayedTo: { createdAt: last, createdAtBasis: 'last replayed commit' },
  };
}
