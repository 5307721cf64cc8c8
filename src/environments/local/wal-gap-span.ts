// What a missing WAL segment costs, in time: a gap is found by segment name before replay, and the line that
// names it also says from which moment on nothing can be restored (the last commit the WAL before it holds).

import { DEFAULT_SEGMENT_BYTES, formatLsn, parseSegmentName } from '../../sources/basebackup/wal-archive.ts';
import { InterruptedError } from '../../errors.ts';
import type { PhysicalCluster } from './physical-cluster.ts';
import { findWalMarkers } from './wal-markers.ts';

/**
 * The time span a gap makes unreachable, for the error that names the gap: `moments after T (the last commit
 * before the gap) cannot be reached`, read with pg_waldump from the WAL staged in `stage` (the segments from
 * `startSegment` up to the gap). Says so when that WAL holds no commit or cannot be read.
 *
 * @example
 * throw new RestoreDrillError(`… is missing segment ${name}: ${await unreachableSpan(cluster, stage, start, signal)}`);
 */
export async function unreachableSpan(
  cluster: PhysicalCluster,
  stage: string,
  startSegment: string,
  signal: AbortSignal | undefined,
): Promise<string> {
  const from = parseSegmentName(startSegment);
  if (!from) return 'no moment after it can be reached';
  const dump = await findWalMarkers(
    cluster,
    stage,
    formatLsn(from.segNo * BigInt(DEFAULT_SEGMENT_BYTES)),
    signal,
  ).catch(() => undefined);
  // An interrupted drill stops here, as every other step does, rather than reporting the gap with an unknown span.
  if (signal?.aborted) throw new InterruptedError(signal.reason);
  const last = dump?.commits.filter((c) => c.at !== null).at(-1)?.at;
  return last
    ? `no moment after ${last.toISOString()} (the last commit before the gap) can be reached`
    : 'no moment after the backup can be reached (the WAL before the gap holds no commit)';
}
