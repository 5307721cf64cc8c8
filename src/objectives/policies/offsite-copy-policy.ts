import { ConfigError } from '../../errors.ts';
import type { CheckResult } from '../../model/report.ts';
import type { Source } from '../../sources/source.ts';
import type { RecoveryPoint } from '../../model/recovery-point.ts';
import { formatDuration, parseDuration, type DurationString } from '../../util/duration.ts';
import type { Policy, PolicyContext } from '../policy.ts';
import { listOrNone } from './list-or-none.ts';
import { ageSeconds, newestFirst } from './point-list.ts';

/** Options of {@link offsiteCopyPolicy}: where copies are, how many points need one, and how fast. */
export interface OffsiteCopyPolicyOptions {
  /** Regions the drill's own source (an `rdsSnapshotSource`) is listed in again to find copies. */
  readonly regions?: readonly string[];
  /** Sources that list the copies, e.g. `rdsSnapshotSource({ …, region: 'eu-central-1' })` or another account's. */
  readonly copies?: Source | readonly Source[];
  /** How many of the newest recovery points must have a copy; default 1. */
  readonly last?: number;
  /** A copy must exist within this time of its original, e.g. `'24h'`. */
  readonly within: DurationString | number;
}

/** A source that can list the same backups in another region (see `rdsSnapshotSource`). */
interface RegionalSource extends Source {
  inRegion(region: string): Source;
}

/**
 * Offsite copy: each of the last `last` recovery points has a copy in another region or account, made
 * within `within` of the original. A copy is matched to its original by the source snapshot it names
 * (RDS's SourceDBSnapshotIdentifier), else by the same database and the same original creation time.
 * Points younger than `within` that have no copy yet are not due and are not counted. One check per point.
 *
 * @example
 * offsiteCopyPolicy({ regions: ['eu-central-1'], last: 3, within: '24h' });
 */
export function offsiteCopyPolicy(options: OffsiteCopyPolicyOptions): Policy {
  const within = parseDuration(options.within, 'offsite copy within');
  const last = options.last ?? 1;
  const extra =
    options.copies === undefined
      ? []
      : Array.isArray(options.copies)
        ? [...(options.copies as readonly Source[])]
        : [options.copies as Source];
  if (!options.regions?.length && extra.length === 0) {
    throw new ConfigError(
      'offsiteCopyPolicy needs regions or copies',
      "e.g. offsiteCopyPolicy({ regions: ['eu-central-1'], within: '24h' })",
    );
  }
  if (!Number.isInteger(last) || last < 1)
    throw new ConfigError(`offsiteCopyPolicy last must be a whole number ≥ 1, not ${last}`);
  const expected = `a copy in another region or account within ${formatDuration(within)}`;
  return {
    name: 'offsite copy',
    async evaluate(context: PolicyContext): Promise<CheckResult[]> {
      const copySources = [...copySourcesOf(context.source, options.regions ?? []), ...extra];
      const copies = (await Promise.all(copySources.map((s) => listOrNone(s, context.sourceContext)))).flat();
      const due = newestFirst(context.points).filter(
        (p) => findCopy(p, copies) || ageSeconds(p, context.now) >= within,
      );
      if (due.length === 0) {
        return [
          {
            name: 'policy offsite copy',
            status: 'skipped',
            expected,
            actual: null,
            detail: `no recovery point is older than ${formatDuration(within)} or copied yet`,
          },
        ];
      }
      return due.slice(0, last).map((point) => {
        const copy = findCopy(point, copies);
        const delay = copy ? copyDelaySeconds(point, copy) : null;
        return {
          name: `policy offsite copy ${point.id}`,
          status: copy && delay !== null && delay <= within ? 'passed' : 'failed',
          expected,
          actual: copy ? `${where(copy)} after ${formatDuration(delay ?? 0)}` : 'no copy',
          ...(copy
            ? { detail: `copy: ${copy.id}` }
            : { detail: `searched ${copySources.map((s) => s.describe()).join(', ')}` }),
        } satisfies CheckResult;
      });
    },
  };
}

function copySourcesOf(source: Source, regions: readonly string[]): Source[] {
  if (regions.length === 0) return [];
  if (typeof (source as Partial<RegionalSource>).inRegion !== 'function') {
    throw new ConfigError(
      `offsiteCopyPolicy regions need a source that can list another region (rdsSnapshotSource), not ${source.kind}`,
      'pass copies: <a source listing the copies> instead',
    );
  }
  return regions.map((region) => (source as RegionalSource).inRegion(region));
}

function findCopy(point: RecoveryPoint, candidates: readonly RecoveryPoint[]): RecoveryPoint | undefined {
  return candidates
    .filter((c) => isCopyOf(c, point) && isOffsite(c, point))
    .sort((a, b) => copyDelaySeconds(point, a) - copyDelaySeconds(point, b))[0];
}

function isCopyOf(copy: RecoveryPoint, point: RecoveryPoint): boolean {
  const named = copy.facts.sourceSnapshot;
  if (typeof named === 'string' && named !== '') return named === point.facts.arn || named === point.id;
  // A copy keeps its original's creation time exactly (RDS's OriginalSnapshotCreateTime, a dump's manifest time).
  return origin(copy) === origin(point) && copy.createdAt.getTime() === point.createdAt.getTime();
}

function isOffsite(copy: RecoveryPoint, point: RecoveryPoint): boolean {
  const differs = (key: string) =>
    typeof copy.facts[key] === 'string' && typeof point.facts[key] === 'string' && copy.facts[key] !== point.facts[key];
  return differs('region') || differs('account');
}

/** Which database a point belongs to: its RDS instance or cluster, else the last part of its id. */
function origin(point: RecoveryPoint): string {
  const { dbInstanceIdentifier, dbClusterIdentifier } = point.facts;
  return String(dbInstanceIdentifier ?? dbClusterIdentifier ?? point.id.split('/').at(-1));
}

/** When the copy itself was made: an RDS copy's own SnapshotCreateTime, an S3 object's LastModified. */
function copyDelaySeconds(point: RecoveryPoint, copy: RecoveryPoint): number {
  const own = copy.facts.snapshotCreateTime ?? copy.facts.lastModified;
  const made = typeof own === 'string' ? Date.parse(own) : copy.createdAt.getTime();
  return Math.max(0, (made - point.createdAt.getTime()) / 1000);
}

function where(copy: RecoveryPoint): string {
  return [copy.facts.region, copy.facts.account].filter((v) => typeof v === 'string').join(' / ') || copy.source;
}
