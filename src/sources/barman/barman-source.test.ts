// Barman end to end on real tools: a "production" cluster archives into Barman's incoming folder, Barman takes
// a backup (backup_method = postgres: pg_basebackup), rows and a marker are committed, and the backup is
// restored with barman recover + replay in the sandbox to a moment between two commits and to the marker.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../errors.ts';
import { newRunId } from '../../environments/labels.ts';
import { localPostgres } from '../../environments/local/local-postgres.ts';
import { writeMarker } from '../../markers/take-marker.ts';
import type { RecoveryTarget } from '../../model/physical-backup.ts';
import { runCommand } from '../../postgres/run-command.ts';
import { startArchivingCluster, type ArchivingCluster, type Commit } from '../basebackup/archiving-cluster.testkit.ts';
import { barmanSource } from './barman-source.ts';

let production: ArchivingCluster;
let config: string;
const commits: Commit[] = [];
let markerId: string;

async function restoreTo(target: RecoveryTarget, server = 'shop') {
  const log = () => {};
  const source = barmanSource({ server, config, database: 'shop', target });
  const [point] = await source.list({ workDir: production.work, log });
  const restorable = await source.fetch(point!, { workDir: production.work, log });
  const env = await localPostgres().start({ runId: newRunId(), drillName: 'barman test', log });
  try {
    await env.restore(restorable, { log });
    const client = new pg.Client(env.connectionConfig('shop'));
    await client.connect();
    const ids = await client
      .query<{ id: number }>('select id from events order by id')
      .then((result) => result.rows.map((row) => row.id))
      .finally(() => client.end());
    return { ids, facts: env.facts ?? {}, point: point! };
  } finally {
    await env.stop();
  }
}

beforeAll(async () => {
  production = await startArchivingCluster();
  const login = production.env.libpqEnv('postgres');
  const home = join(production.work, 'barman');
  await mkdir(home, { mode: 0o700 });
  config = join(production.work, 'barman.conf');
  const conninfo = `host=${login.PGHOST} port=${login.PGPORT} user=${login.PGUSER} dbname=postgres`;
  // Barman's incoming folder is the testkit's archive: archive_command copies there, barman archive-wal takes them.
  await writeFile(
    config,
    `[barman]\nbarman_home = ${home}\nbarman_user = ${process.env.USER ?? 'root'}\nlog_file = ${home}/barman.log\ncompression = gzip\n\n` +
      `[shop]\nconninfo = ${conninfo}\nstreaming_conninfo = ${conninfo}\nbackup_method = postgres\narchiver = on\nincoming_wals_directory = ${production.archive}\n`,
    { mode: 0o600 },
  );
  const asBarman = { env: { PGPASSWORD: login.PGPASSWORD! } };
  await runCommand('barman', ['-c', config, 'switch-wal', '--force', '--archive', 'shop'], asBarman);
  await runCommand('barman', ['-c', config, 'backup', 'shop'], asBarman);
  for (let id = 1; id <= 4; id++) {
    commits.push(await production.commit(id));
    if (id === 2) markerId = (await writeMarker(production.env.connectionConfig('shop'))).id;
  }
  await production.switchAndArchive();
  await runCommand('barman', ['-c', config, 'archive-wal', 'shop'], asBarman);
}, 180_000);

afterAll(async () => {
  await production?.stop();
});

describe('barmanSource', () => {
  // One restore (each is a barman recover and a replay): to the marker's own position, which also lands
  // between two commits. Time targets share the replay path of the other physical sources, tested there.
  it("lists the backup with its WAL range, restores it to a marker's own position (exactly the rows its snapshot saw) and verifies it", async () => {
    const restored = await restoreTo({ type: 'marker' });
    expect(restored.point.facts).toMatchObject({
      server: 'shop',
      serverMajor: 15,
      walStart: expect.stringMatching(/^[0-9A-F]{24}$/),
      lsnStop: expect.stringMatching(/^[0-9A-F]+\/[0-9A-F]+$/),
    });
    expect(restored.ids).toEqual([1, 2]);
    expect(restored.facts.walMarker).toMatch(new RegExp(`^#${markerId} `));
    expect(restored.facts.walMarkerLateCommits).toBe('');
    expect(String(restored.facts.lastReplayedCommit) >= commits[1]!.text).toBe(true);
    expect(String(restored.facts.lastReplayedCommit) < commits[2]!.text).toBe(true);
    expect(restored.facts.verifyBackup).toMatch(/successfully verified \(except what barman recover rewrote/);
    expect(restored.facts.walSegmentsRestored).toBeGreaterThan(0);
  }, 120_000);

  it('a server Barman does not know is a one-line configuration error', async () => {
    const error = await restoreTo({ type: 'latest' }, 'no-such-server').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(
      /barman list-backups for server "no-such-server" failed: Unknown server 'no-such-server'$/,
    );
  }, 60_000);
});
