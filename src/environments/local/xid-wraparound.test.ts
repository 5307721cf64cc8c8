// A restore to a marker's own position when the marker's window crosses the 32-bit transaction id wrap: the
// production cluster is pushed a few transactions from 2^32 (pg_resetwal, epoch 7), rows are committed on
// both sides of the wrap and a marker after it. pg_waldump prints 32-bit xids, the marker's snapshot 64-bit
// ones: the restore must still land exactly on the marker's snapshot, with no commit wrongly called late.
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { writeMarker } from '../../markers/take-marker.ts';
import { baseBackupSource } from '../../sources/basebackup/base-backup-source.ts';
import {
  startArchivingCluster,
  type ArchivingCluster,
  type Commit,
} from '../../sources/basebackup/archiving-cluster.testkit.ts';
import { newRunId } from '../labels.ts';
import { localPostgres } from './local-postgres.ts';

const NEAR_WRAP = 2 ** 32 - 16;
let production: ArchivingCluster;
const commits: Commit[] = [];
let markerId: string;

beforeAll(async () => {
  production = await startArchivingCluster();
  await production.resetXid(NEAR_WRAP, 7);
  await production.basebackup(join(production.work, 'plain'), 'p');
  commits.push(await production.commit(1), await production.commit(2));
  // Enough transactions to pass 2^32: the next xids are 3, 4, … of epoch 8.
  await production.query(
    'shop',
    'do $$ begin for i in 1..20 loop perform pg_current_xact_id(); commit; end loop; end $$',
  );
  commits.push(await production.commit(3), await production.commit(4));
  markerId = (await writeMarker(production.env.connectionConfig('shop'))).id;
  commits.push(await production.commit(5));
  await production.switchAndArchive();
}, 180_000);

afterAll(async () => {
  await production?.stop();
});

it('restores to a marker taken just after the 32-bit xid wrap, exactly at its snapshot', async () => {
  // The wrap really happened between rows 2 and 3, in epoch 7 → 8.
  expect(Number(commits[1]!.xid)).toBeGreaterThan(NEAR_WRAP);
  expect(Number(commits[2]!.xid)).toBeLessThan(100);
  const source = baseBackupSource({
    path: join(production.work, 'plain'),
    walArchive: production.archive,
    database: 'shop',
    target: { type: 'marker' },
  });
  const log = () => {};
  const [point] = await source.list({ workDir: production.work, log });
  const restorable = await source.fetch(point!, { workDir: production.work, log });
  await using env = await localPostgres().start({ runId: newRunId(), drillName: 'xid wraparound test', log });
  await env.restore(restorable, { log });
  const client = new pg.Client(env.connectionConfig('shop'));
  await client.connect();
  const ids = await client
    .query<{ id: number }>('select id from events order by id')
    .then((result) => result.rows.map((row) => row.id))
    .finally(() => client.end());
  expect(ids).toEqual([1, 2, 3, 4]);
  expect(env.facts?.walMarker).toMatch(new RegExp(`^#${markerId} `));
  // Rows 1 and 2 (xids near 2^32) committed before the snapshot: not late, though numerically above its xmax.
  expect(env.facts?.walMarkerLateCommits).toBe('');
}, 120_000);
