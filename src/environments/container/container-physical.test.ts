// The container environment's physical restore, end to end on real tools: an archiving "production" cluster,
// a pg_basebackup backup, rows committed one transaction each, restored in containers of the image to a
// moment between two commits, and proved there by the same checks as the local physical restore.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { runDrill } from '../../drill/run-drill.ts';
import { ConfigError } from '../../errors.ts';
import { generateKeyPair } from '../../evidence/signing-key.ts';
import { writeMarker } from '../../markers/take-marker.ts';
import { baseBackupSource } from '../../sources/basebackup/base-backup-source.ts';
import {
  between,
  startArchivingCluster,
  type ArchivingCluster,
  type Commit,
} from '../../sources/basebackup/archiving-cluster.testkit.ts';
import { newRunId } from '../labels.ts';
import { probeContainerEngine } from './container-engine.testkit.ts';
import { CONTAINER_LABELS } from './container-labels.ts';
import { containerPostgres } from './container-postgres.ts';
import { containerRuntime } from './docker-runtime.ts';

const engine = await probeContainerEngine();

describe.skipIf(!engine.available)(`containerPostgres: physical recovery point${engine.reason}`, () => {
  let production: ArchivingCluster;
  const commits: Commit[] = [];
  const source = (time: Date) =>
    baseBackupSource({
      path: join(production.work, 'plain'),
      walArchive: production.archive,
      database: 'shop',
      target: { type: 'time', time },
    });

  beforeAll(async () => {
    production = await startArchivingCluster();
    await production.basebackup(join(production.work, 'plain'), 'p');
    for (let id = 1; id <= 4; id++) {
      commits.push(await production.commit(id));
      if (id === 2) await writeMarker(production.env.connectionConfig('shop')); // restore-drill mark, after row 2
    }
    await production.switchAndArchive();
  }, 120_000);
  afterAll(async () => {
    await production?.stop();
  });

  test('a drill restores the backup in containers to a moment between two commits, proves it, times replay, and leaves no container', async () => {
    const lines: string[] = [];
    const { status, report } = await runDrill({
      name: 'container physical',
      source: source(between(commits[2]!, commits[3]!)),
      environment: containerPostgres(),
      reportDir: join(production.work, 'reports'),
      signingKey: generateKeyPair(join(production.work, 'keys')).privatePath,
      log: (line) => lines.push(line),
    });
    expect(report.error).toBeUndefined();
    expect(status).toBe('passed');
    expect(report.environment).toMatchObject({ kind: 'container', version: expect.stringMatching(/^15\./) });
    expect(lines).toContainEqual(`provision: image ${engine.image} (physical backup: PostgreSQL 15)`);
    expect(lines).toContainEqual(expect.stringMatching(/^replay: WAL segment [0-9A-F]{24} restored \(LSN /));
    expect(report.phases.map((phase) => phase.name)).toContain('replay');
    const facts = report.environment?.facts ?? {};
    expect(facts).toMatchObject({
      network: 'none',
      verifyBackup: expect.stringMatching(/successfully verified/),
      lastReplayedCommit: commits[2]!.text,
      recoveryStop: expect.stringMatching(/recovery stopping before commit of transaction/),
    });
    const proof = report.checks.filter((check) => /WAL replay|markers place/.test(check.name));
    expect(proof.map((check) => [check.name, check.status])).toEqual([
      ['WAL replay stopped at the target', 'passed'],
      ['markers place the restored copy at the target', 'passed'],
    ]);
    const client = await containerRuntime();
    const left = await client.container.dockerode.listContainers({
      all: true,
      filters: { label: [`${CONTAINER_LABELS.runId}=${report.runId}`] },
    });
    expect(left).toEqual([]);
  }, 180_000);

  test('a backup of another major version than the image is one line naming both', async () => {
    const log = () => {};
    const from = source(between(commits[0]!, commits[1]!));
    const [point] = await from.list({ workDir: production.work, log });
    const fetched = await from.fetch(point!, { workDir: production.work, log });
    const restorable = { ...fetched, major: 14 };
    await using env = await containerPostgres({ image: engine.image }).start({
      runId: newRunId(),
      drillName: 'container physical, wrong major',
      log,
      restorable,
    });
    const error = await env.restore(restorable, { log }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toBe(
      `the plain base backup ${join(production.work, 'plain')} is PostgreSQL 14, but this environment runs PostgreSQL 15: a physical restore needs the same major version`,
    );
    expect((error as ConfigError).hint).toMatch(/containerPostgres\(\{ image: 'postgres:14' \}\)/);
    expect(() => env.connectionConfig()).toThrow(/no server before its physical restore/);
  }, 60_000);
});
