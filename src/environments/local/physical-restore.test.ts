// The physical restore, end to end on real tools: a "production" cluster archives its WAL, pg_basebackup
// takes a base backup, rows are committed one transaction each, and the backup is restored to moments between
// those commits. The proof is at the data level: rows committed before the target are there, rows after are not.
import { chmod, cp, mkdir, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, RestoreDrillError } from '../../errors.ts';
import type { RecoveryTarget } from '../../model/physical-backup.ts';
import { baseBackupSource } from '../../sources/basebackup/base-backup-source.ts';
import {
  between as betweenCommits,
  startArchivingCluster,
  type ArchivingCluster,
  type Commit,
} from '../../sources/basebackup/archiving-cluster.testkit.ts';
import { newRunId } from '../labels.ts';
import { localPostgres } from './local-postgres.ts';
import { writeMarker } from '../../markers/take-marker.ts';
import { readMarkers } from '../../markers/read-markers.ts';
import { momentChecks } from '../../verify/moment-proof.ts';
import { runCommand } from '../../postgres/run-command.ts';
import { CreateBucketCommand, DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type { S3WalArchiveOptions } from '../../sources/basebackup/s3-wal-archive.ts';
import { motoS3Client, startMotoServer } from '../../testing/moto-server.ts';

const ROWS = 6;
let production: ArchivingCluster;
let work: string;
let archive: string;
const commits: Commit[] = [];
/** Ids of the markers written after rows 2, 4 and 6. */
const markers: string[] = [];

async function query<T>(config: pg.ClientConfig, text: string): Promise<T[]> {
  const client = new pg.Client(config);
  await client.connect();
  try {
    return (await client.query(text)).rows as T[];
  } finally {
    await client.end();
  }
}

async function restoreTo(
  target: RecoveryTarget,
  options: { backup?: string; walArchive?: string; s3?: S3WalArchiveOptions } = {},
) {
  const source = baseBackupSource({
    path: options.backup ?? join(work, 'plain'),
    walArchive: options.walArchive ?? archive,
    database: 'shop',
    target,
    ...(options.s3 ? { s3: options.s3 } : {}),
  });
  const log = () => {};
  const [point] = await source.list({ workDir: work, log });
  const restorable = await source.fetch(point!, { workDir: work, log });
  const env = await localPostgres().start({ runId: newRunId(), drillName: 'physical restore test', log });
  try {
    await env.restore(restorable, { log });
    const ids = (await query<{ id: number }>(env.connectionConfig('shop'), 'select id from events order by id')).map(
      (row) => row.id,
    );
    const recovering = (
      await query<{ recovering: boolean }>(env.connectionConfig('shop'), 'select pg_is_in_recovery() as recovering')
    )[0]!.recovering;
    const client = new pg.Client(env.connectionConfig('shop'));
    await client.connect();
    const found = await readMarkers(client).finally(() => client.end());
    const facts = env.facts ?? {};
    const replay = {
      recoveryStop: facts.recoveryStop as string | null,
      lastReplayedCommit: facts.lastReplayedCommit as string | null,
      redoDoneAt: facts.redoDoneAt as string | null,
    };
    return { ids, facts, recovering, markers: found, proof: momentChecks(target, replay, found) };
  } finally {
    await env.stop();
  }
}

beforeAll(async () => {
  production = await startArchivingCluster();
  ({ work, archive } = production);
  await production.query(
    'shop',
    "create table customers as select n as id, 'customer ' || n as name from generate_series(1, 1000) n",
  );
  await production.basebackup(join(work, 'plain'), 'p');
  await production.basebackup(join(work, 'tar'), 't');
  for (let id = 1; id <= ROWS; id++) {
    commits.push(await production.commit(id));
    // Every other row a marker and a new segment, so the archive has several.
    if (id % 2 === 0) {
      markers.push((await writeMarker(production.env.connectionConfig('shop'))).id); // restore-drill mark, after rows 2, 4 and 6
      await production.switchAndArchive();
    }
  }
}, 180_000);

afterAll(async () => {
  await production?.stop();
});

/** A moment strictly between the commits of rows `id` and `id + 1`. */
function between(id: number): Date {
  return betweenCommits(commits[id - 1]!, commits[id]!);
}

describe('physical restore of a pg_basebackup backup with its WAL archive', () => {
  it('restores to a time between two commits: the rows before are there, the rows after are not', async () => {
    const restored = await restoreTo({ type: 'time', time: between(3) });
    expect(restored.ids).toEqual([1, 2, 3]);
    expect(restored.recovering).toBe(false);
    expect(restored.facts.recoveryStop).toMatch(/recovery stopping before commit of transaction/);
    expect(restored.facts.lastReplayedCommit).toBe(commits[2]!.text);
    expect(restored.facts.verifyBackup).toMatch(/successfully verified/);
    expect(restored.facts.walSegmentsRestored).toBeGreaterThan(0);
    // The markers prove it too: the one taken after row 2 is there, the one after row 4 is not.
    expect(restored.markers.map((m) => m.id)).toEqual([markers[0]]);
    expect(restored.proof.map((c) => [c.name, c.status])).toEqual([
      ['WAL replay stopped at the target', 'passed'],
      ['markers place the restored copy at the target', 'passed'],
    ]);
    // Asked about an earlier moment, the same copy fails both: it holds the marker and commits after it.
    const earlier = { type: 'time', time: commits[0]!.at } as const;
    const replay = {
      recoveryStop: restored.facts.recoveryStop as string,
      lastReplayedCommit: restored.facts.lastReplayedCommit as string,
      redoDoneAt: null,
    };
    expect(momentChecks(earlier, replay, restored.markers).map((c) => c.status)).toEqual(['failed', 'failed']);
  }, 120_000);

  it('restores to the end of the archive (latest): every archived commit is there', async () => {
    const restored = await restoreTo({ type: 'latest' });
    expect(restored.ids).toEqual([1, 2, 3, 4, 5, 6]);
    // The last commit replayed is the marker written after row 6 (same text format: compared as strings).
    expect(String(restored.facts.lastReplayedCommit) > commits[5]!.text).toBe(true);
    expect(restored.markers).toHaveLength(3);
    expect(restored.proof.map((c) => c.status)).toEqual(['passed', 'passed']);
  }, 120_000);

  it('restores a tar backup to a transaction id, inclusive', async () => {
    const restored = await restoreTo({ type: 'xid', xid: commits[4]!.xid }, { backup: join(work, 'tar') });
    expect(restored.ids).toEqual([1, 2, 3, 4, 5]);
    expect(restored.facts.recoveryStop).toMatch(
      new RegExp(`recovery stopping after commit of transaction ${commits[4]!.xid}`),
    );
  }, 120_000);

  it('names the missing segment of an archive with a gap, instead of stopping early unnoticed', async () => {
    const gappy = join(work, 'gappy');
    await cp(archive, gappy, { recursive: true });
    const segments = (await readdir(gappy)).filter((name) => /^[0-9A-F]{24}$/.test(name)).sort();
    const missing = segments.at(-2)!;
    await rm(join(gappy, missing));
    const error = await restoreTo({ type: 'latest' }, { walArchive: gappy }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RestoreDrillError);
    expect((error as Error).message).toContain(`missing segment ${missing}`);
  }, 120_000);

  it('replays an archive of gzip, zstd and lz4 segments (decompressed while staged), and names a corrupt one', async () => {
    const packed = join(work, 'packed');
    await cp(archive, packed, { recursive: true });
    const segments = (await readdir(packed)).filter((name) => /^[0-9A-F]{24}$/.test(name)).sort();
    // lz4 writes to stdout when it is not a terminal unless given the output name.
    const tools = [
      (file: string) => ['gzip', '-n', file],
      (file: string) => ['zstd', '-q', '--rm', file],
      (file: string) => ['lz4', '-q', '--rm', file, `${file}.lz4`],
    ];
    for (const [i, name] of segments.entries()) {
      const [tool, ...args] = tools[i % tools.length]!(join(packed, name));
      await runCommand(tool!, args);
    }
    const restored = await restoreTo({ type: 'latest' }, { walArchive: packed });
    expect(restored.ids).toEqual([1, 2, 3, 4, 5, 6]);
    const gz = (await readdir(packed))
      .filter((name) => name.endsWith('.gz'))
      .sort()
      .at(-1)!;
    const bytes = await readFile(join(packed, gz));
    await writeFile(join(packed, gz), bytes.subarray(0, bytes.length >> 1));
    const error = await restoreTo({ type: 'latest' }, { walArchive: packed }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RestoreDrillError);
    expect((error as Error).message).toMatch(new RegExp(`segment ${gz} is corrupt \\(gzip\\)`));
  }, 120_000);

  it('replays a WAL archive kept under an S3 prefix (moto): the segments the backup needs are downloaded', async () => {
    await using moto = await startMotoServer();
    const s3 = motoS3Client(moto);
    await s3.send(new CreateBucketCommand({ Bucket: 'wal' }));
    for (const name of await readdir(archive)) {
      await s3.send(
        new PutObjectCommand({ Bucket: 'wal', Key: `shop/${name}`, Body: await readFile(join(archive, name)) }),
      );
    }
    const restored = await restoreTo(
      { type: 'latest' },
      {
        walArchive: 's3://wal/shop',
        // The archive's own endpoint and credentials, as a drill names them (not the process's AWS configuration).
        s3: {
          endpoint: moto.endpoint,
          region: 'us-east-1',
          credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
        },
      },
    );
    expect(restored.ids).toEqual([1, 2, 3, 4, 5, 6]);
    expect(restored.facts.walSegmentsRestored).toBeGreaterThan(0);
    // A segment missing under the prefix is named with the S3 archive, not the download folder.
    const missing = (await readdir(archive))
      .filter((name) => /^[0-9A-F]{24}$/.test(name))
      .sort()
      .at(-2)!;
    await s3.send(new DeleteObjectCommand({ Bucket: 'wal', Key: `shop/${missing}` }));
    const error = await restoreTo({ type: 'latest' }, { walArchive: 's3://wal/shop', s3: { client: s3 } }).catch(
      (e: unknown) => e,
    );
    expect((error as Error).message).toContain(`the WAL archive s3://wal/shop/ is missing segment ${missing}`);
  }, 120_000);

  it('names the damaged file of a corrupted backup (pg_verifybackup)', async () => {
    const damaged = join(work, 'damaged');
    await cp(join(work, 'plain'), damaged, { recursive: true });
    const path = (
      await production.query<{ path: string }>('shop', "select pg_relation_filepath('customers') as path")
    )[0]!.path;
    const file = join(damaged, path);
    const bytes = await readFile(file);
    bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0xff;
    await writeFile(file, bytes);
    const error = await restoreTo({ type: 'latest' }, { backup: damaged }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RestoreDrillError);
    expect((error as Error).message).toMatch(/pg_verifybackup found the base backup damaged/);
    expect((error as Error).message).toContain(path);
  }, 120_000);

  it.each([
    ['pg_wal', "the restored backup's pg_wal is a symlink to"],
    ['pg_tblspc/16400', 'has tablespaces'],
  ])(
    'a backup whose %s is a symlink to a folder of this host: the drill fails naming it, and the folder is untouched',
    async (entry, why) => {
      const trapped = join(work, `trapped-${entry.replace('/', '-')}`);
      const victim = join(work, `victim-${entry.replace('/', '-')}`);
      await mkdir(victim);
      await writeFile(join(victim, 'keep.txt'), 'not the backup’s');
      await chmod(victim, 0o777); // writable by anyone: only the sandbox and cleanup's care keep it whole
      await cp(join(work, 'plain'), trapped, { recursive: true });
      await rm(join(trapped, entry), { recursive: true, force: true });
      await mkdir(join(trapped, entry, '..'), { recursive: true });
      await symlink(victim, join(trapped, entry));
      // A folder of this host that looks like WAL: the restore must not read it as the backup's.
      await writeFile(join(victim, '000000010000000000000099'), '');
      const error = await restoreTo({ type: 'latest' }, { backup: trapped }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RestoreDrillError);
      expect((error as Error).message).toContain(why);
      // Neither the restore, nor the cleanup of its data directory (removeOwnTree), went through the link.
      expect((await readdir(victim)).sort()).toEqual(['000000010000000000000099', 'keep.txt']);
      expect(await readFile(join(victim, 'keep.txt'), 'utf8')).toBe('not the backup’s');
    },
    120_000,
  );

  it('refuses a target before the oldest backup, and fails a target after the archive ends', async () => {
    await expect(restoreTo({ type: 'time', time: new Date('2001-01-01T00:00:00Z') })).rejects.toThrow(ConfigError);
    const late = restoreTo({ type: 'time', time: new Date(Date.now() + 86_400_000) });
    // Known before replay from the WAL's commit times: one line naming the archive's last commit.
    await expect(late).rejects.toThrow(/is after the WAL archive's end: its last commit is at /);
  }, 120_000);
});
