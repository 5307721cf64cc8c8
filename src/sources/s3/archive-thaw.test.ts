import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { runDrill } from '../../drill/run-drill.ts';
import { generateKeyPair } from '../../evidence/signing-key.ts';
import { writeMarker } from '../../markers/take-marker.ts';
import { startMotoServer, type MotoServer } from '../../testing/moto-server.ts';
import { useMotoAwsEnv } from '../../testing/rds-moto.ts';
import { startShopDatabase, type ShopDatabase } from '../../testing/shop-database.ts';
import type { ArchiveOptions } from './archive-thaw.ts';
import { restoreState } from './archive-thaw.ts';
import { s3DumpSource } from './s3-dump-source.ts';

let moto: MotoServer;
let restoreEnv: () => void;
let s3: S3Client;
let shop: ShopDatabase;
let dir: string;
let signingKey: string;
let dump: Buffer;
const logs: string[] = [];

/**
 * moto thaws at once unless told otherwise. Its restore state moves one step (none → thawing → restored)
 * every `reads` reads of the object, so after this the object thaws for the next `reads` reads once a
 * restore is requested: moto's stand-in for the hours a real thaw takes.
 */
async function thawTakes(key: string, reads: number): Promise<void> {
  const response = await fetch(`${moto.endpoint}/moto-api/state-manager/set-transition`, {
    method: 'POST',
    body: JSON.stringify({ model_name: 's3::keyrestore', transition: { progression: 'manual', times: reads } }),
  });
  expect(response.status).toBe(201);
  for (let i = 0; i < reads; i++) await s3.send(new HeadObjectCommand({ Bucket: 'acme-archive', Key: key }));
}

async function putArchived(key: string, storageClass: 'GLACIER' | 'DEEP_ARCHIVE'): Promise<void> {
  await s3.send(new PutObjectCommand({ Bucket: 'acme-archive', Key: key, Body: dump, StorageClass: storageClass }));
}

function drillOf(name: string, prefix: string, archive?: ArchiveOptions) {
  return runDrill({
    name,
    log: (line) => logs.push(line),
    reportDir: join(dir, 'reports'),
    signingKey,
    source: s3DumpSource({ bucket: 'acme-archive', prefix, ...(archive ? { archive } : {}) }),
    objectives: { rto: '2d', rpo: '400d' },
  });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'archive-thaw-test-'));
  signingKey = generateKeyPair(join(dir, 'keys')).privatePath;
  moto = await startMotoServer();
  restoreEnv = useMotoAwsEnv(moto);
  s3 = new S3Client({
    region: 'us-east-1',
    endpoint: moto.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  });
  await s3.send(new CreateBucketCommand({ Bucket: 'acme-archive' }));
  shop = await startShopDatabase();
  await writeMarker(shop.environment.connectionConfig());
  dump = await readFile(await shop.dump(join(dir, 'shop.dump'), 'custom'));
});

afterAll(async () => {
  s3?.destroy();
  await moto?.stop();
  await shop?.stop();
  restoreEnv?.();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test("restoreState reads S3's x-amz-restore", () => {
  expect(restoreState(undefined)).toEqual({ state: 'none' });
  expect(restoreState('ongoing-request="true"')).toEqual({ state: 'ongoing' });
  expect(restoreState('ongoing-request="false", expiry-date="Fri, 04 Dec 2026 00:00:00 GMT"')).toEqual({
    state: 'restored',
    expiresAt: new Date('2026-12-04T00:00:00Z'),
  });
});

test('an archived dump without the archive option fails with one line saying it is not restored, and a signed report', async () => {
  await putArchived('plain/shop.dump', 'DEEP_ARCHIVE');
  const result = await drillOf('archived, no thaw', 'plain/');
  expect(result.status).toBe('failed');
  expect(result.report.recoveryPoint).toMatchObject({
    id: 's3://acme-archive/plain/shop.dump',
    facts: { storageClass: 'DEEP_ARCHIVE', archived: true, restore: 'not restored' },
  });
  expect(result.report.error).toEqual({
    phase: 'thaw',
    message: `s3://acme-archive/plain/shop.dump is archived and not restored (never thawed, or its thaw expired) (give s3DumpSource archive: { tier: 'Bulk', days: 1 } to thaw it in the drill, or restore it by hand first)`,
  });
  expect(JSON.parse(await readFile(result.reportPath, 'utf8'))).toMatchObject({ signatures: [expect.anything()] });
});

test('a thaw started by one run (wait: false) is resumed by the next, which waits for it, restores and verifies; the thaw is in the report', async () => {
  await putArchived('cold/shop.dump', 'GLACIER');
  await thawTakes('cold/shop.dump', 12);
  const first = await drillOf('cold archive, day 1', 'cold/', { tier: 'Bulk', days: 2, wait: false });
  expect(first.status).toBe('failed');
  expect(first.report.error?.phase).toBe('thaw');
  expect(first.report.error?.message).toMatch(
    /^thaw of s3:\/\/acme-archive\/cold\/shop\.dump is still in progress \(Bulk\): the recovery point is not readable yet/,
  );
  // The restore was requested, with the drill's tier and days.
  expect((await s3.send(new HeadObjectCommand({ Bucket: 'acme-archive', Key: 'cold/shop.dump' }))).Restore).toMatch(
    /ongoing-request="true"/,
  );

  logs.length = 0;
  const second = await drillOf('cold archive, day 2', 'cold/', { tier: 'Bulk', days: 2, pollEvery: '0.1s' });
  expect(second.failedChecks).toEqual([]);
  expect(second.status).toBe('passed');
  expect(second.report.recoveryPoint?.facts).toMatchObject({
    storageClass: 'GLACIER',
    archived: true,
    restore: 'in progress',
  });
  expect(second.report.checks).toContainEqual({
    name: 'archive thawed',
    status: 'passed',
    expected: 'the archived recovery point becomes readable',
    actual: expect.stringMatching(/^1 object\(s\) readable after \S+ of waiting \(Bulk\)$/) as unknown,
    detail: 'the thaw was started by an earlier run or by hand; this run resumed it',
  });
  expect(logs.join('\n')).toMatch(/thaw: 0 of 1 object\(s\) readable, waiting \(Bulk/);
  // The thaw is a phase of its own, and on the RTO clock: an auditor sees what cold storage takes.
  expect(second.report.phases.map((p) => p.name)).toEqual(['locate', 'thaw', 'provision', 'restore', 'verify']);
  const thawSeconds = second.report.phases.find((p) => p.name === 'thaw')!.seconds;
  const rest = second.report.phases.filter((p) => p.name !== 'thaw').reduce((sum, p) => sum + p.seconds, 0);
  expect(second.report.objectives.rto.actualSeconds).toBeGreaterThanOrEqual(thawSeconds + rest - 0.01);
  expect(second.report.checks.filter((c) => c.table && c.status === 'passed').length).toBeGreaterThan(5);
});

test('a thaw that outlasts the archive timeout fails with one line naming the timeout', async () => {
  await putArchived('slow/shop.dump', 'DEEP_ARCHIVE');
  await thawTakes('slow/shop.dump', 100);
  const result = await drillOf('cold archive, too slow', 'slow/', {
    tier: 'Standard',
    timeout: '1s',
    pollEvery: '0.3s',
  });
  expect(result.status).toBe('failed');
  expect(result.report.error?.message).toMatch(
    /^thaw of s3:\/\/acme-archive\/slow\/shop\.dump did not finish within the archive timeout of 1\.0s \(Standard\)/,
  );
});
