// A point-in-time drill through the whole pipeline: a pg_basebackup backup and its WAL archive restored to a
// moment between two commits; the signed report proves the moment (recovery stop and markers), verifies the
// tables against the marker found in the copy and measures the RPO from the last replayed commit.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { localPostgres } from '../../environments/local/local-postgres.ts';
import { generateKeyPair } from '../../evidence/signing-key.ts';
import { writeMarker } from '../../markers/take-marker.ts';
import { parseTableSelection } from '../../markers/table-discovery.ts';
import { baseBackupSource } from '../../sources/basebackup/base-backup-source.ts';
import {
  between,
  startArchivingCluster,
  type ArchivingCluster,
  type Commit,
} from '../../sources/basebackup/archiving-cluster.testkit.ts';
import { runDrill } from '../run-drill.ts';

let production: ArchivingCluster;
let dir: string;
const commits: Commit[] = [];
let stockAtMarker: string;
let fifth: Commit;

const stockSum = async () =>
  (await production.query<{ sum: string }>('shop', 'select sum(qty)::text as sum from stock'))[0]!.sum;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'physical-drill-test-'));
  production = await startArchivingCluster();
  // Updated in place: a marker can only count its rows, unless the restore lands on the marker's own position.
  await production.query('shop', 'create table stock (id int primary key, qty int not null)');
  await production.query('shop', 'insert into stock select g, g from generate_series(1, 200) g');
  await production.query('shop', 'update stock set qty = qty + 1'); // so markers choose `count` for it
  await production.basebackup(join(production.work, 'base'), 'p');
  for (let id = 1; id <= 4; id++) {
    commits.push(await production.commit(id));
    if (id === 2) await writeMarker(production.env.connectionConfig('shop')); // in the copy: taken before the target
  }
  await writeMarker(production.env.connectionConfig('shop')); // not in the copy: after the target
  // The marker the `marker` pick restores to, between two changes of stock in place and one more event.
  await production.query('shop', 'update stock set qty = qty + 3 where id > 100');
  stockAtMarker = await stockSum();
  await writeMarker(production.env.connectionConfig('shop'), {
    tables: [parseTableSelection('stock:count'), parseTableSelection('events:append-only')],
  });
  await production.query('shop', 'update stock set qty = qty * 2 where id <= 10');
  fifth = await production.commit(5);
  await production.switchAndArchive();
}, 180_000);

afterAll(async () => {
  await production?.stop();
  await rm(dir, { recursive: true, force: true });
});

test('a base backup restored to a moment: the moment is proved, the data verified, the RPO from the last replayed commit', async () => {
  const target = between(commits[2]!, commits[3]!);
  const lines: string[] = [];
  const result = await runDrill({
    name: 'shop at a moment',
    source: baseBackupSource({
      path: join(production.work, 'base'),
      walArchive: production.archive,
      database: 'shop',
      target: { type: 'time', time: target },
    }),
    environment: localPostgres(),
    reportDir: join(dir, 'reports'),
    signingKey: generateKeyPair(join(dir, 'keys')).privatePath,
    log: (line) => lines.push(line),
    body: async (drill) => {
      await drill.check('rows up to the target and none after', async () => {
        const { rows } = await drill.db.query<{ id: number }>('select id from events order by id');
        expect(rows.map((row) => row.id)).toEqual([1, 2, 3]);
      });
    },
  });
  const checks = Object.fromEntries(result.report.checks.map((c) => [c.name, c]));
  expect(checks['WAL replay stopped at the target']?.status).toBe('passed');
  expect(checks['markers place the restored copy at the target']?.status).toBe('passed');
  expect(checks['rows up to the target and none after']?.status).toBe('passed');
  expect(result.report.checks.filter((c) => c.status === 'failed')).toEqual([]);
  expect(result.status).toBe('passed');
  expect(result.report.objectives.rpo.basis).toBe('wal-replay');
  // The backup is the data directory: no initdb (nor template copy) ran for a cluster it would replace.
  expect(lines.filter((line) => line.startsWith('provision:'))).toEqual([
    expect.stringMatching(/no initdb: the physical backup becomes its data directory/),
  ]);
  expect(result.report.environment?.facts).toMatchObject({
    lastReplayedCommit: commits[2]!.text,
    verifyBackup: expect.stringMatching(/successfully verified/) as unknown,
  });
}, 180_000);

test('a backup of another major version than the environment: one line, an error report, nothing restored', async () => {
  const source = baseBackupSource({
    path: join(production.work, 'base'),
    walArchive: production.archive,
    database: 'shop',
  });
  const result = await runDrill({
    name: 'shop from another major',
    // As a backup made by PostgreSQL 14 would be listed: the environment here runs 15.
    source: { ...source, fetch: async (point, context) => ({ ...(await source.fetch(point, context)), major: 14 }) },
    environment: localPostgres(),
    reportDir: join(dir, 'reports'),
    signingKey: generateKeyPair(join(dir, 'keys-major')).privatePath,
    log: () => {},
  });
  expect(result.status).not.toBe('passed');
  expect(result.report.error?.phase).toBe('restore');
  expect(result.report.error?.message).toMatch(
    /is PostgreSQL 14, but this environment runs PostgreSQL 15: a physical restore needs the same major version/,
  );
}, 120_000);

test("pick marker: restored to the marker's own position, a table updated in place compares exactly (count and checksum)", async () => {
  const result = await runDrill({
    name: 'shop at its marker',
    source: baseBackupSource({ path: join(production.work, 'base'), walArchive: production.archive, database: 'shop' }),
    pick: { strategy: 'marker' },
    environment: localPostgres(),
    reportDir: join(dir, 'reports'),
    signingKey: generateKeyPair(join(dir, 'keys-marker')).privatePath,
    log: () => {},
    body: async (drill) => {
      await drill.check('stock as the marker saw it, events up to row 4', async () => {
        const { rows } = await drill.db.query<{ sum: string; events: string }>(
          'select (select sum(qty)::text from stock) as sum, (select count(*)::text from events) as events',
        );
        expect(rows[0]).toEqual({ sum: stockAtMarker, events: '4' });
      });
    },
  });
  const checks = Object.fromEntries(result.report.checks.map((c) => [c.name, c]));
  expect(checks["the copy is exactly the marker's snapshot"]?.status).toBe('passed');
  expect(checks['WAL replay stopped at the target']?.status).toBe('passed');
  const stock = result.report.checks.filter((c) => c.table === 'public.stock');
  expect(stock.map((c) => c.name)).toEqual(expect.arrayContaining([expect.stringMatching(/checksum/)]));
  expect(stock.filter((c) => c.status !== 'passed')).toEqual([]);
  expect(result.report.notVerified?.filter((n) => n.name === 'public.stock')).toEqual([]);
  expect(result.report.checks.filter((c) => c.status === 'failed')).toEqual([]);
  expect(result.status).toBe('passed');
}, 180_000);

test('a physical restore with no marker in the copy: markers absent is said, not failed; the moment rests on the server, the tables are not verified', async () => {
  const result = await runDrill({
    name: 'shop at the end of its backup',
    source: baseBackupSource({
      path: join(production.work, 'base'),
      walArchive: production.archive,
      database: 'shop',
      target: { type: 'immediate' }, // every marker was taken after the backup
    }),
    environment: localPostgres(),
    reportDir: join(dir, 'reports'),
    signingKey: generateKeyPair(join(dir, 'keys-nomarker')).privatePath,
    log: () => {},
  });
  const checks = Object.fromEntries(result.report.checks.map((c) => [c.name, c]));
  expect(checks['markers present']).toMatchObject({ status: 'skipped', actual: 'none' });
  expect(checks['markers present']?.detail).toMatch(/rests on the server's recovery end .* not verified/);
  expect(checks['WAL replay stopped at the target']?.status).toBe('passed');
  expect(result.report.notVerified?.map((n) => n.name)).toEqual(
    expect.arrayContaining(['public.events', 'public.stock']),
  );
  expect(result.status).toBe('passed');
}, 180_000);

test('pick random within a window: a moment settled from the WAL between its commits, proved, and named in the report', async () => {
  const result = await runDrill({
    name: 'shop at a random moment',
    source: baseBackupSource({ path: join(production.work, 'base'), walArchive: production.archive, database: 'shop' }),
    pick: { strategy: 'random', within: '1h' },
    environment: localPostgres(),
    reportDir: join(dir, 'reports'),
    signingKey: generateKeyPair(join(dir, 'keys-random')).privatePath,
    log: () => {},
    body: async (drill) => {
      await drill.check('events committed up to the moment, none after', async () => {
        const moment = new Date(String(drill.environment.facts?.targetTime)).getTime();
        const { rows } = await drill.db.query<{ id: number }>('select id from events order by id');
        const expected = [...commits, fifth].filter((c) => c.at.getTime() <= moment).map((c) => c.id);
        expect(rows.map((row) => row.id)).toEqual(expected);
      });
    },
  });
  const facts = result.report.environment?.facts ?? {};
  expect(facts.recoveryTarget).toMatch(/^a random moment between .* and the WAL archive's last commit$/);
  expect(facts.recoveryTargetSettled).toBe(`time ${String(facts.targetTime)}`);
  expect(new Date(String(facts.targetTime)).getTime()).toBeLessThan(fifth.at.getTime());
  expect(facts.walSegmentsRestored).toBeGreaterThan(0);
  expect(result.report.recoveryPoint?.id).toBe(join(production.work, 'base'));
  const checks = Object.fromEntries(result.report.checks.map((c) => [c.name, c]));
  expect(checks['WAL replay stopped at the target']?.status).toBe('passed');
  expect(checks['events committed up to the moment, none after']?.status).toBe('passed');
  expect(result.status).toBe('passed');
}, 180_000);

test('pick nearest a moment after the archive ends: one line naming the last commit, an error report', async () => {
  const target = new Date(fifth.at.getTime() + 3_600_000);
  const result = await runDrill({
    name: 'shop after its archive',
    source: baseBackupSource({ path: join(production.work, 'base'), walArchive: production.archive, database: 'shop' }),
    pick: { strategy: 'nearest', target },
    environment: localPostgres(),
    reportDir: join(dir, 'reports'),
    signingKey: generateKeyPair(join(dir, 'keys-after')).privatePath,
    log: () => {},
  });
  expect(result.status).not.toBe('passed');
  expect(result.report.error).toMatchObject({ phase: 'restore' });
  // The last commit is the fifth row's, or a later one of the server's own (an autovacuum's analyze).
  expect(result.report.error?.message).toMatch(
    new RegExp(
      `^the target ${target.toISOString()} is after the WAL archive's end: its last commit is at \\S+Z \\(choose an earlier target`,
    ),
  );
  const last = /its last commit is at (\S+Z)/.exec(result.report.error?.message ?? '')![1]!;
  expect(new Date(last).getTime()).toBeGreaterThanOrEqual(fifth.at.getTime());
}, 120_000);
