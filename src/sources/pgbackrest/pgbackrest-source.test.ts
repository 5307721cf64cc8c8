// pgBackRest end to end on real tools: a "production" cluster archives into an encrypted pgBackRest
// repository, a full backup is taken, rows are committed one transaction each, and the backup set is restored
// to a moment between two commits: the rows before it are there, the rows after are not.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../errors.ts';
import type { RecoveryTarget } from '../../model/physical-backup.ts';
import type { Environment } from '../../environments/environment.ts';
import { probeContainerEngine } from '../../environments/container/container-engine.testkit.ts';
import { containerPostgres } from '../../environments/container/container-postgres.ts';
import { newRunId } from '../../environments/labels.ts';
import { localPostgres } from '../../environments/local/local-postgres.ts';
import { pgBackRestSource } from './pgbackrest-source.ts';
import {
  between as betweenCommits,
  startArchivingCluster,
  type ArchivingCluster,
  type Commit,
} from '../basebackup/archiving-cluster.testkit.ts';

const engine = await probeContainerEngine();
const CIPHER_PASS = 'test-only cipher pass of a throw-away repository';
let work: string;
let production: ArchivingCluster;
/** Drill side: the repository and its cipher type, no pass (that comes from PGBACKREST_REPO1_CIPHER_PASS). */
let drillConfig: string;
const commits: Commit[] = [];

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
  return betweenCommits(commits[id - 1]!, commits[id]!);
}

beforeAll(async () => {
  // The drill side gets the cipher pass from PGBACKREST_REPO1_CIPHER_PASS, as a drill's secret store would give it.
  production = await startArchivingCluster({
    pgBackRest: { stanza: 'shop', cipherPass: CIPHER_PASS, cipherPassInConfig: false },
  });
  work = production.work;
  drillConfig = production.pgBackRest!.drillConfig;
  await production.pgBackRest!.backup('full');
  for (let id = 1; id <= 4; id++) commits.push(await production.commit(id)); // commits 3 ms apart: a target between two fits a Date
  await production.pgBackRest!.check(); // switches WAL and waits for the segment to be archived
  process.env.PGBACKREST_REPO1_CIPHER_PASS = CIPHER_PASS;
}, 240_000);

afterAll(async () => {
  delete process.env.PGBACKREST_REPO1_CIPHER_PASS;
  await production?.stop();
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
