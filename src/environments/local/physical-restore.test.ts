// The physical restore, end to end on real tools: a "production" cluster archives its WAL, pg_basebackup
// takes a base backup, rows are committed one transaction each, and the backup is restored to moments between
// those commits. The proof is at the data level: rows committed before the target are there, rows after are not.
import { chmod, chown, cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, RestoreDrillError } from '../../errors.ts';
import type { RecoveryTarget } from '../../model/physical-backup.ts';
import { serverOsUser } from '../../postgres/os-user.ts';
import { findPgBinaries } from '../../postgres/pg-binaries.ts';
import { runCommand } from '../../postgres/run-command.ts';
import { baseBackupSource } from '../../sources/basebackup/base-backup-source.ts';
import type { StartedEnvironment } from '../environment.ts';
import { newRunId } from '../labels.ts';
import { localPostgres } from './local-postgres.ts';
import { writeMarker } from '../../markers/take-marker.ts';
import { readMarkers } from '../../markers/read-markers.ts';
import { momentChecks } from '../../verify/moment-proof.ts';

const ROWS = 6;
let work: string;
let archive: string;
let production: StartedEnvironment;
/** Each row's commit time as PostgreSQL prints it in UTC (microseconds), and as a Date (milliseconds). */
const commits: Array<{ text: string; at: Date; xid: string }> = [];
/** Ids of the markers written after rows 2, 4 and 6. */
const markers: string[] = [];

async function query<T>(config: pg.ClientConfig, text: string): Promise<T[]> {
  const client = new pg.Client(config);
  await client.connect();
  try {
    await client.query("set timezone = 'UTC'");
    return (await client.query(text)).rows as T[];
  } finally {
    await client.end();
  }
}

/** Switches to a new WAL segment and waits until the archiver has copied the finished one. */
async function switchAndArchive(): Promise<void> {
  const segment = (
    await query<{ segment: string }>(
      production.connectionConfig('postgres'),
      'select pg_walfile_name(pg_switch_wal()) as segment',
    )
  )[0]!.segment;
  for (let i = 0; i < 600; i++) {
    if ((await readdir(archive)).includes(segment)) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`segment ${segment} was never archived`);
}

async function basebackup(into: string, format: 'p' | 't'): Promise<void> {
  const bins = findPgBinaries({ tools: ['pg_basebackup'] });
  await runCommand(bins.path('pg_basebackup'), ['-D', into, `-F${format}`, '-X', 'none', '-c', 'fast', '--no-sync'], {
    env: production.libpqEnv('postgres'),
  });
}

async function restoreTo(target: RecoveryTarget, options: { backup?: string; walArchive?: string } = {}) {
  const source = baseBackupSource({
    path: options.backup ?? join(work, 'plain'),
    walArchive: options.walArchive ?? archive,
    database: 'shop',
    target,
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
  work = await mkdtemp(join(tmpdir(), 'restore-drill-physical-test-'));
  archive = join(work, 'archive');
  await chmod(work, 0o711); // production's server user passes through to its archive
  await mkdir(archive, { mode: 0o700 });
  const owner = serverOsUser();
  if (owner) await chown(archive, owner.uid, owner.gid);
  production = await localPostgres({
    sandbox: false, // production's archive_command needs a shell, which the restore sandbox withholds
    settings: {
      wal_level: 'replica',
      archive_mode: true,
      archive_command: `cp %p ${archive}/%f`,
      max_wal_senders: 4,
      track_commit_timestamp: true,
    },
  }).start({ runId: newRunId(), drillName: 'physical production', log: () => {} });
  await query(production.connectionConfig('postgres'), 'create database shop');
  await query(production.connectionConfig('shop'), 'create table events (id int primary key, note text)');
  await query(
    production.connectionConfig('shop'),
    "create table customers as select n as id, 'customer ' || n as name from generate_series(1, 1000) n",
  );
  await basebackup(join(work, 'plain'), 'p');
  await basebackup(join(work, 'tar'), 't');
  const shop = production.connectionConfig('shop');
  for (let id = 1; id <= ROWS; id++) {
    // recovery_target_time is matched against commit times: 3 ms apart, a target between two commits is
    // expressible in a Date's milliseconds. Every other row starts a new segment, so the archive has several.
    await query(shop, 'select pg_sleep(0.003)');
    const [row] = await query<{ text: string; xid: string }>(
      shop,
      `with inserted as (insert into events values (${id}, 'row ${id}') returning xmin) select xmin::text as xid, '' as text from inserted`,
    );
    const text = (
      await query<{ text: string }>(
        shop,
        `select pg_xact_commit_timestamp(xmin)::text as text from events where id = ${id}`,
      )
    )[0]!.text;
    commits.push({ text, at: new Date(text.replace(' ', 'T').replace(/\+00$/, 'Z')), xid: row!.xid });
    if (id % 2 === 0) {
      markers.push((await writeMarker(shop)).id); // restore-drill mark, after rows 2, 4 and 6
      await switchAndArchive();
    }
  }
}, 180_000);

afterAll(async () => {
  await production?.stop();
  await rm(work, { recursive: true, force: true });
});

/** A moment strictly between the commits of rows `id` and `id + 1`. */
function between(id: number): Date {
  const before = commits[id - 1]!.at.getTime();
  const after = commits[id]!.at.getTime();
  return new Date(before + Math.max(1, Math.floor((after - before) / 2)));
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

  it('names the damaged file of a corrupted backup (pg_verifybackup)', async () => {
    const damaged = join(work, 'damaged');
    await cp(join(work, 'plain'), damaged, { recursive: true });
    const path = (
      await query<{ path: string }>(
        production.connectionConfig('shop'),
        "select pg_relation_filepath('customers') as path",
      )
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

  it('refuses a target before the oldest backup, and fails a target after the archive ends', async () => {
    await expect(restoreTo({ type: 'time', time: new Date('2001-01-01T00:00:00Z') })).rejects.toThrow(ConfigError);
    const late = restoreTo({ type: 'time', time: new Date(Date.now() + 86_400_000) });
    await expect(late).rejects.toThrow(
      /WAL replay did not reach the target: recovery ended before configured recovery target was reached/,
    );
  }, 120_000);
});
