// The pgBackRest method of a physical restore: `pgbackrest restore` of one backup set into the data
// directory, the stanza's WAL fetched segment by
// segment with `archive-get` into the staging folder (a missing one is named), and `pgbackrest verify` of the
// set and its WAL. pgBackRest runs outside the sandbox: it is the trusted reader of its own repository (its
// permissions and cipher pass); nothing of the backup executes there, and replay runs sandboxed as for any
// physical backup.

import { mkdir } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { ConfigError, RestoreDrillError } from '../../errors.ts';
import type { PgBackRestRestorable } from '../../model/physical-backup.ts';
import { archiveGet, pgbackrest, type PgBackRestRepo } from '../../sources/pgbackrest/pgbackrest-command.ts';
import { parseSegmentName, segmentName } from '../../sources/basebackup/wal-archive.ts';
import { ownByServer, ownTreeByServer, type PhysicalMethod } from './physical-cluster.ts';
import { unreachableSpan } from './wal-gap-span.ts';

/**
 * The restore method of a pgBackRest backup set, for {@link restorePhysical}.
 *
 * @example
 * await restorePhysical(cluster, pgBackRestMethod(restorable), restorable.target, options);
 */
export function pgBackRestMethod(restorable: PgBackRestRestorable): PhysicalMethod {
  const repo: PgBackRestRepo = {
    stanza: restorable.stanza,
    ...(restorable.config ? { config: restorable.config } : {}),
    ...(restorable.repo ? { repo: restorable.repo } : {}),
  };
  return {
    what: `pgBackRest backup set ${restorable.stanza}/${restorable.set}`,
    major: restorable.major,
    ...(restorable.stopLsn ? { consistentLsn: restorable.stopLsn } : {}),
    async layDown(cluster, signal) {
      const lockPath = join(cluster.dir, 'pgbackrest-lock');
      await mkdir(lockPath, { recursive: true, mode: 0o700 });
      // --delta off (an empty data directory), recovery settings are ours: whatever pgBackRest writes is replaced.
      await pgbackrest(
        repo,
        'restore',
        [`--pg1-path=${cluster.dataDir}`, `--set=${restorable.set}`, `--process-max=${availableParallelism()}`],
        {
          lockPath,
          ...(signal ? { signal } : {}),
        },
      );
      await ownTreeByServer(cluster, cluster.dataDir);
    },
    async stageWal(cluster, startSegment, stage, log, signal) {
      const lockPath = join(cluster.dir, 'pgbackrest-lock');
      const from = parseSegmentName(startSegment)!;
      const to = parseSegmentName(restorable.archiveMax);
      if (!to)
        throw new ConfigError(
          `pgbackrest info names "${restorable.archiveMax}" as the archive's newest segment`,
          'check the stanza with pgbackrest info',
        );
      let count = 0;
      for (let segNo = from.segNo; segNo <= to.segNo; segNo++) {
        const timelines = [...new Set([to.timeline, from.timeline])];
        let found = false;
        for (const timeline of timelines) {
          const name = segmentName(timeline, segNo);
          const file = join(stage, name);
          const options = { pgPath: cluster.dataDir, lockPath, ...(signal ? { signal } : {}) };
          if (!(await archiveGet(repo, name, file, options))) continue;
          await ownByServer(cluster, file);
          found = true;
          count++;
          break;
        }
        if (!found) {
          throw new RestoreDrillError(
            `the WAL archive of stanza "${restorable.stanza}" is missing segment ${segmentName(from.timeline, segNo)} (archive-get cannot find it; the archive's newest is ${restorable.archiveMax}): ${await unreachableSpan(cluster, stage, startSegment, signal)}`,
            'find the segment (archive-push failures are in the production server log), or restore to a target before it',
          );
        }
      }
      log(
        `restore: ${count} WAL segment(s) fetched with pgbackrest archive-get (${startSegment} to ${restorable.archiveMax})`,
      );
      return count;
    },
    async verify(_cluster, _stage, signal, log) {
      log(`restore: pgbackrest verify of set ${restorable.set} (every file and WAL segment against its checksum)`);
      const text = await pgbackrest(
        repo,
        'verify',
        [`--set=${restorable.set}`, '--output=text', '--verbose'],
        signal ? { signal } : {},
      );
      const status = /status: (\S+)/.exec(text)?.[1];
      const problems = [
        ...text.matchAll(/missing: (\d+), checksum invalid: (\d+), size invalid: (\d+), other: (\d+)/g),
      ].some((m) => m.slice(1).some((n) => n !== '0'));
      if (status !== 'ok' || problems) {
        throw new RestoreDrillError(
          `pgbackrest verify found the backup set ${restorable.set} damaged: ${text.trim().split('\n').slice(1).join('; ')}`,
          'the backup cannot be trusted: take a new one, and check the repository storage',
        );
      }
      return `pgbackrest verify: ${text
        .trim()
        .split('\n')
        .slice(2)
        .map((l) => l.trim())
        .join('; ')}`;
    },
  };
}
