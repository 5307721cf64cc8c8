import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { CheckResult } from '../../model/report.ts';
import { findWalGap, listWalArchive } from '../../sources/basebackup/wal-archive.ts';
import { formatDuration, parseDuration, type DurationString } from '../../util/duration.ts';
import type { Policy } from '../policy.ts';

/** Options of {@link walContinuityPolicy}. */
export interface WalContinuityPolicyOptions {
  /** The longest time allowed between two archived segments (and since the newest), e.g. `'5m'`: the RPO WAL promises. */
  readonly maxGap: DurationString | number;
  /** The window checked, back from the drill's start, e.g. `'7d'`. */
  readonly within: DurationString | number;
}

/**
 * WAL continuity: over the last `within`, the WAL archive has every segment (none missing between the oldest
 * and the newest) and no stretch longer than `maxGap` without an archived segment — "we can restore to any
 * moment of the last 7 days, losing at most 5 minutes". A segment's time is when it was archived (its file's
 * modification time), so an idle database needs `archive_timeout` ≤ `maxGap` to pass. Reads the `walArchive`
 * of a base backup source's recovery points; for other sources the checks are skipped, saying why.
 *
 * @example
 * drill('shop WAL is continuous', { source: baseBackupSource({ … }), restore: false,
 *   policies: [walContinuityPolicy({ maxGap: '5m', within: '7d' })] });
 */
export function walContinuityPolicy(options: WalContinuityPolicyOptions): Policy {
  const maxGap = parseDuration(options.maxGap, 'WAL continuity maxGap');
  const within = parseDuration(options.within, 'WAL continuity window');
  const names = {
    missing: 'policy WAL continuity: no missing segment',
    gap: `policy WAL continuity: no gap over ${formatDuration(maxGap)}`,
  };
  return {
    name: 'wal-continuity',
    async evaluate({ points, now }): Promise<CheckResult[]> {
      const archive = points.find((point) => typeof point.facts.walArchive === 'string')?.facts.walArchive as
        string | undefined;
      if (!archive || archive.startsWith('s3://')) {
        const detail = archive
          ? `the WAL archive ${archive} is in S3, which this policy does not list yet: continuity was not checked`
          : 'the source lists no plain WAL archive folder (only base backup sources do yet): continuity was not checked';
        return [
          { name: names.missing, status: 'skipped', expected: 'every segment', actual: null, detail },
          { name: names.gap, status: 'skipped', expected: `≤ ${formatDuration(maxGap)}`, actual: null, detail },
        ];
      }
      const from = now.getTime() - within * 1000;
      const timed = await Promise.all(
        (await listWalArchive(archive)).map(async (segment) => ({
          segment,
          at: (await stat(join(archive, segment.file))).mtime,
        })),
      );
      const inWindow = timed.filter((s) => s.at.getTime() >= from && s.at.getTime() <= now.getTime());
      const gap = inWindow[0]
        ? findWalGap(
            inWindow.map((s) => s.segment),
            inWindow[0].segment,
          )
        : null;
      const missing: CheckResult = {
        name: names.missing,
        status: inWindow.length > 0 && !gap ? 'passed' : 'failed',
        expected: `every segment archived in the last ${formatDuration(within)}`,
        actual: gap ? `missing ${gap.missing} (after ${gap.before})` : `${inWindow.length} segment(s), none missing`,
        detail: gap
          ? `no moment from LSN ${gap.fromLsn} to ${gap.after ?? 'the end'} can be restored`
          : `in ${archive}`,
      };
      // The longest stretch without an archived segment, the time since the newest included.
      const times = [from, ...inWindow.map((s) => s.at.getTime()).sort((a, b) => a - b), now.getTime()];
      let longest = { seconds: 0, start: from, end: from };
      for (let i = 1; i < times.length; i++) {
        const seconds = (times[i]! - times[i - 1]!) / 1000;
        if (seconds > longest.seconds) longest = { seconds, start: times[i - 1]!, end: times[i]! };
      }
      const span: CheckResult = {
        name: names.gap,
        status: longest.seconds <= maxGap ? 'passed' : 'failed',
        expected: `≤ ${formatDuration(maxGap)} between archived segments`,
        actual: `longest ${formatDuration(Math.round(longest.seconds))}, ${new Date(longest.start).toISOString()} to ${new Date(longest.end).toISOString()}`,
        detail:
          'by the archive time of each segment (file modification time); set archive_timeout at most maxGap so an idle database still archives',
      };
      return [missing, span];
    },
  };
}
