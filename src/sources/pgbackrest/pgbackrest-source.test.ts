// pgBackRest end to end on real tools: a "production" cluster archives into an encrypted pgBackRest
// repository, a full backup is taken, rows are committed one transaction each, and the backup set is restored
// to a moment between two commits: the rows before it are there, the rows after are not.
import { chmod, chown, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../errors.ts';
import type { RecoveryTarget } from '../../model/physical-backup.ts';
import { serverOsUser } from '../../postgres/os-user.ts';
import { runCommand } from '../../postgres/run-command.ts';
import type { Environment, StartedEnvironment } from '../../environments/environment.ts';
import { probeContainerEngine } from '../../environments/container/container-engine.testkit.ts';
import { containerPostgres } from '../../environments/container/container-postgres.ts';
import { newRunId } from '../../environments/labels.ts';
import { localPostgres } from '../../environments/local/local-postgres.ts';
import { pgBackRestSource } from './pgbackrest-source.ts';

const engine = await probeContainerEngine();
const CIPHER_PASS = 'test-only cipher pass of a throw-away repository';
let work: string;
let production: StartedEnvironment;
/** Drill side: the repository and its cipher type, no pass (that comes from PGBACKREST_REPO1_CIPHER_PASS). */
let drillConfig: string;
const commits: Array<{ text: string; at: Date }> = [];

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

async function restoreTo(target: RecoveryTarget, stanza = 'shop', environment: Environment = localPostgres()) {
  const log = () => {};
  const source = pgBackRestSource({ stanza, config: drillConfig, database: 'shop', target });
  const [point] = await source.list({ workDir: work, log });
  const restorable = await source.fetch(point!, { workDir: work, log });
  const env = await environment.start({ runId: newRunId(), drillName: 'pgbackrest test', log, restorable });
  try {
    await env.restore(restorable, { log });
    const ids = (await query<{ id: number }>(env.connectionConfig('shop'), 'select id from events order by id')).map(
      (row) => row.id,
    );
    return { ids, facts: env.facts ?? {}, point: point! };
  } finally {
    await env.stop();
  }
}

/** A moment strictly between the commits of rows `id` and `id + 1`. */
function between(id: number): Date {
  const [before, after] = [commits[id - 1]!.at.getTime(), commits[id]!.at.getTime()];
  return new Date(before + Math.max(1, Math.floor((after - before) / 2)));
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'restore-drill-pgbackrest-test-'));
  await chmod(work, 0o711);
  const owner = serverOsUser();
  const repo = join(work, 'repo');
  for (const dir of [repo, join(work, 'log'), join(work, 'lock')]) {
    await mkdir(dir, { mode: 0o700 });
    if (owner) await chown(dir, owner.uid, owner.gid);
  }
  const productionConfig = join(work, 'production.conf');
  production = await localPostgres({
    sandbox: false, // archive_command needs a shell, which the restore sandbox withholds
    settings: {
      wal_level: 'replica',
      archive_mode: true,
      archive_command: `pgbackrest --config=${productionConfig} --stanza=shop archive-push %p`,
      max_wal_senders: 4,
      track_commit_timestamp: true,
    },
  }).start({ runId: newRunId(), drillName: 'pgbackrest production', log: () => {} });
  const login = production.libpqEnv('postgres');
  const dataDir = (
    await query<{ d: string }>(production.connectionConfig('postgres'), "select current_setting('data_directory') as d")
  )[0]!.d;
  const repoSettings = `repo1-path=${repo}\nrepo1-cipher-type=aes-256-cbc\n`;
  await writeFile(
    productionConfig,
    `[global]\n${repoSettings}repo1-cipher-pass=${CIPHER_PASS}\nrepo1-retention-full=2\nlog-path=${join(work, 'log')}\nlock-path=${join(work, 'lock')}\nlog-level-file=off\nstart-fast=y\n\n[shop]\npg1-path=${dataDir}\npg1-socket-path=${login.PGHOST}\npg1-port=${login.PGPORT}\npg1-user=${login.PGUSER}\n`,
    { mode: 0o600 },
  );
  if (owner) await chown(productionConfig, owner.uid, owner.gid);
  drillConfig = join(work, 'drill.conf');
  await writeFile(drillConfig, `[global]\n${repoSettings}`, { mode: 0o600 });
  const asServer = { user: owner, env: { PGPASSWORD: login.PGPASSWORD! }, cwd: '/' };
  await query(production.connectionConfig('postgres'), 'create database shop');
  await query(production.connectionConfig('shop'), 'create table events (id int primary key, note text)');
  await runCommand('pgbackrest', [`--config=${productionConfig}`, '--stanza=shop', 'stanza-create'], asServer);
  await runCommand('pgbackrest', [`--config=${productionConfig}`, '--stanza=shop', '--type=full', 'backup'], asServer);
  const shop = production.connectionConfig('shop');
  for (let id = 1; id <= 4; id++) {
    await query(shop, 'select pg_sleep(0.003)'); // commits 3 ms apart: a target between two fits a Date
    await query(shop, `insert into events values (${id}, 'row ${id}')`);
    const text = (
      await query<{ t: string }>(shop, `select pg_xact_commit_timestamp(xmin)::text as t from events where id = ${id}`)
    )[0]!.t;
    commits.push({ text, at: new Date(text.replace(' ', 'T').replace(/\+00$/, 'Z')) });
  }
  await query(production.connectionConfig('postgres'), 'select pg_switch_wal()');
  await runCommand('pgbackrest', [`--config=${productionConfig}`, '--stanza=shop', 'check'], asServer); // waits for the segment to be archived
  process.env.PGBACKREST_REPO1_CIPHER_PASS = CIPHER_PASS;
}, 240_000);

afterAll(async () => {
  delete process.env.PGBACKREST_REPO1_CIPHER_PASS;
  await production?.stop();
  await rm(work, { recursive: true, force: true });
});

describe('pgBackRestSource', () => {
  it('lists the full backup with its WAL range and encryption, and restores it to a moment between two commits', async () => {
    const restored = await restoreTo({ type: 'time', time: between(2) });
    expect(restored.point.facts).toMatchObject({
      type: 'full',
      encrypted: true,
      cipher: 'aes-256-cbc',
      serverMajor: 15,
    });
    expect(restored.ids).toEqual([1, 2]);
    expect(restored.facts.lastReplayedCommit).toBe(commits[1]!.text);
    expect(restored.facts.recoveryStop).toMatch(/recovery stopping before commit/);
    expect(restored.facts.verifyBackup).toMatch(/backup: \S+, status: valid/);
  }, 180_000);

  it.skipIf(!engine.available)(
    `restores in the container environment too: laid down here, replayed in a container of the image${engine.reason}`,
    async () => {
      const restored = await restoreTo({ type: 'time', time: between(2) }, 'shop', containerPostgres());
      expect(restored.ids).toEqual([1, 2]);
      expect(restored.facts).toMatchObject({
        network: 'none',
        lastReplayedCommit: commits[1]!.text,
        verifyBackup: expect.stringMatching(/backup: \S+, status: valid/),
      });
    },
    180_000,
  );

  it('a wrong cipher pass and a stanza that does not exist are one-line configuration errors', async () => {
    process.env.PGBACKREST_REPO1_CIPHER_PASS = 'wrong';
    try {
      await expect(restoreTo({ type: 'latest' })).rejects.toThrow(ConfigError);
    } finally {
      process.env.PGBACKREST_REPO1_CIPHER_PASS = CIPHER_PASS;
    }
    const missing = await restoreTo({ type: 'latest' }, 'no-such-stanza').catch((error: unknown) => error);
    expect(missing).toBeInstanceOf(ConfigError);
    expect((missing as Error).message).toMatch(/no-such-stanza.*missing stanza path/);
  }, 120_000);
});
