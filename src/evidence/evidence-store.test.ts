import { CreateBucketCommand, DeleteObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ConfigError } from '../errors.ts';
import { pastReport } from '../views/history.testkit.ts';
import { fileDigest, listReportFiles } from './report-files.ts';
import { writeReport } from '../drill/report-writer.ts';
import { generateKeyPair, loadPublicKey, loadSigningKey, type SigningKey } from './signing-key.ts';
import { motoS3Client, startMotoServer, type MotoServer } from '../testing/moto-server.ts';
import { openEvidenceStore, type EvidenceStore } from './evidence-store.ts';
import { parseHead } from './ledger-head.ts';
import { verifyStore } from './store-verifier.ts';

let moto: MotoServer;
let s3: S3Client;
let dir: string;
let keyPaths: { privatePath: string; publicPath: string };
let key: SigningKey;
let prefixes = 0;

const client = () => motoS3Client(moto);

beforeAll(async () => {
  moto = await startMotoServer();
  s3 = client();
  await s3.send(new CreateBucketCommand({ Bucket: 'evidence' }));
  await s3.send(new CreateBucketCommand({ Bucket: 'evidence-locked', ObjectLockEnabledForBucket: true }));
  dir = await mkdtemp(join(tmpdir(), 'evidence-store-test-'));
  keyPaths = generateKeyPair(join(dir, 'keys'));
  key = loadSigningKey(keyPaths.privatePath);
});
afterAll(async () => {
  s3?.destroy();
  await moto?.stop();
  await rm(dir, { recursive: true, force: true });
});

/** A store under a prefix of its own, so tests do not see each other's reports. */
async function freshStore(bucket = 'evidence', retention?: string): Promise<EvidenceStore> {
  return openEvidenceStore(`s3://${bucket}/t${++prefixes}/`, { client: client(), retention });
}

/** Writes one report of `drill` into the store from its own report directory (a fresh machine each time). */
async function writeOne(store: EvidenceStore, drill: string, at: string, extra: Record<string, unknown> = {}) {
  const reportDir = await mkdtemp(join(dir, 'machine-'));
  return writeReport({
    report: { ...pastReport({ name: drill, runs: [] }, { at, restoreSeconds: 100 }), ...extra },
    reportDir,
    key,
    evidence: store,
  });
}

const MODULE = (path: string) => fileURLToPath(new URL(path, import.meta.url));

/** Runs `count` report writes into the store in a child process, as a second machine would. */
function writerProcess(uri: string, drill: string, count: number): Promise<number> {
  const script = `
    import { mkdtemp } from 'node:fs/promises';
    import { S3Client } from '@aws-sdk/client-s3';
    import { openEvidenceStore } from ${JSON.stringify(MODULE('./evidence-store.ts'))};
    import { writeReport } from ${JSON.stringify(MODULE('../drill/report-writer.ts'))};
    import { pastReport } from ${JSON.stringify(MODULE('../views/history.testkit.ts'))};
    import { loadSigningKey } from ${JSON.stringify(MODULE('./signing-key.ts'))};
    const client = new S3Client({ endpoint: ${JSON.stringify(moto.endpoint)}, forcePathStyle: true, region: 'us-east-1', credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } });
    const store = await openEvidenceStore(${JSON.stringify(uri)}, { client });
    const key = loadSigningKey(${JSON.stringify(keyPaths.privatePath)});
    for (let i = 0; i < ${count}; i++) {
      const reportDir = await mkdtemp(${JSON.stringify(join(dir, 'proc-'))});
      await writeReport({ report: pastReport({ name: ${JSON.stringify(drill)}, runs: [] }, { at: new Date().toISOString(), restoreSeconds: 100 + i }), reportDir, key, evidence: store });
    }
    store.destroy();
  `;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    child.on('error', reject);
    child.on('close', (code) => resolve(code ?? -1));
  });
}

describe('evidence store (moto_server)', () => {
  test('two processes appending at once keep one unbroken chain: consecutive positions, no fork, every report there', async () => {
    const store = await freshStore();
    expect(await Promise.all([writerProcess(store.uri, 'orders', 4), writerProcess(store.uri, 'billing', 4)])).toEqual([
      0, 0,
    ]);

    const ledger = await store.ledger();
    expect(ledger.map((e) => e.position)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(new Set(ledger.map((e) => e.drill))).toEqual(new Set(['orders', 'billing']));
    const files = await store.reportFiles();
    expect(files).toEqual(ledger.map((e) => e.file));
    // Each report follows the bytes of the one at the position before it: a single chain, not two.
    const verdict = await verifyStore(store, key.publicKey);
    expect(verdict.problems).toEqual([]);
    expect(verdict.head).toEqual({ position: 8, digest: ledger[7]!.digest });
    expect(verdict.entries.map((e) => e.position)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    store.destroy();
  });

  test('a writer on a fresh machine continues the chain of the store, and its directory holds the whole chain', async () => {
    const store = await freshStore();
    await writeOne(store, 'orders', '2026-10-01T03:17:00Z');
    const second = await writeOne(store, 'orders', '2026-11-01T03:17:00Z');
    expect(second.head.position).toBe(2);
    const local = await listReportFiles(join(second.jsonPath, '..'));
    expect(local).toEqual(await store.reportFiles());
    const [first] = await store.ledger();
    expect(second.previous).toBe(first!.digest);
    store.destroy();
  });

  test('deleting the newest or the oldest report is detected by the store head and by an expected head', async () => {
    const store = await freshStore();
    const written = [];
    for (const month of ['08', '09', '10', '11'])
      written.push(await writeOne(store, 'orders', `2026-${month}-01T03:17:00Z`));
    const head = written.at(-1)!.head;
    const [oldest, , , newest] = await store.reportFiles();
    const prefix = store.uri.slice('s3://evidence/'.length);

    await s3.send(new DeleteObjectCommand({ Bucket: 'evidence', Key: `${prefix}reports/${newest}` }));
    const cutEnd = await verifyStore(store, key.publicKey);
    expect(cutEnd.valid).toBe(false);
    expect(cutEnd.problems).toContain(
      `${store.uri}ledger: position 4 is ${newest}, which is not in the store (deleted?)`,
    );
    expect(cutEnd.problems.join('\n')).toMatch(
      /ends at position 3 \(.*, finished 2026-10-01T03:1\d:\d\d.*\) but its head is position 4: 1 report\(s\) missing since 2026-10-01T/,
    );

    // Someone who also removes the ledger entry and rewrites head.json is caught by the head kept elsewhere.
    await s3.send(new DeleteObjectCommand({ Bucket: 'evidence', Key: `${prefix}ledger/000000000004.json` }));
    const third = (await store.ledger())[2]!;
    await s3.send(new PutObjectCommand({ Bucket: 'evidence', Key: `${prefix}head.json`, Body: JSON.stringify(third) }));
    expect((await verifyStore(store, key.publicKey)).problems).toEqual([]);
    const anchored = await verifyStore(store, key.publicKey, { expectHead: head });
    expect(anchored.problems).toEqual([
      expect.stringMatching(/ends at position 3 .* but its head is position 4: 1 report\(s\) missing since/),
    ]);

    await s3.send(new DeleteObjectCommand({ Bucket: 'evidence', Key: `${prefix}reports/${oldest}` }));
    const cutStart = await verifyStore(store, key.publicKey);
    expect(cutStart.problems).toEqual(
      expect.arrayContaining([
        `${store.uri}reports/${(await store.reportFiles())[0]}: comes first but is position 2 of its chain: 1 earlier report(s) missing (the oldest were removed?)`,
        `${store.uri}ledger: position 1 is ${oldest}, which is not in the store (deleted?)`,
      ]),
    );
    store.destroy();
  });

  test('with --evidence-retention on an Object Lock bucket, reports are under COMPLIANCE retention and cannot be deleted', async () => {
    const store = await freshStore('evidence-locked', '400d');
    await store.check();
    const written = await writeOne(store, 'orders', '2026-11-01T03:17:00Z');
    const verdict = await verifyStore(store, key.publicKey);
    expect(verdict.problems).toEqual([]);
    const retention = verdict.retention[0]!.retention!;
    expect(retention.mode).toBe('COMPLIANCE');
    const days = (Date.parse(retention.retainUntil) - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(399);
    expect(days).toBeLessThanOrEqual(400);

    // COMPLIANCE mode: not even the writer can delete the stored version before the date.
    const prefix = store.uri.slice('s3://evidence-locked/'.length);
    const { VersionId } = await s3.send(
      new PutObjectCommand({
        Bucket: 'evidence-locked',
        Key: `${prefix}probe`,
        Body: 'x',
        ObjectLockMode: 'COMPLIANCE',
        ObjectLockRetainUntilDate: new Date(Date.now() + 86_400_000),
      }),
    );
    await expect(
      s3.send(new DeleteObjectCommand({ Bucket: 'evidence-locked', Key: `${prefix}probe`, VersionId })),
    ).rejects.toMatchObject({ name: 'AccessDenied' });
    expect(fileDigest(await readFile(written.jsonPath))).toBe(written.head.digest);
    store.destroy();
  });

  test('a retention on a bucket without Object Lock, or a bucket that is not there, is a usage error', async () => {
    const unlocked = await freshStore('evidence', '400d');
    await expect(unlocked.check()).rejects.toThrow(
      /bucket evidence has no S3 Object Lock, so --evidence-retention cannot be applied/,
    );
    unlocked.destroy();
    const missing = await openEvidenceStore('s3://no-such-evidence/x/', { client: client() });
    await expect(missing.check()).rejects.toBeInstanceOf(ConfigError);
    missing.destroy();
    await expect(openEvidenceStore('s3://evidence/x/', { retention: '2h', client: client() })).rejects.toThrow(
      /shorter than a day/,
    );
    await expect(openEvidenceStore('evidence/x', { client: client() })).rejects.toThrow(/not an evidence store/);
  });

  test('when the store refuses the report, the signed report is kept in the directory and the error says so', async () => {
    // Retention on a bucket without Object Lock, past the check that normally stops it: S3 refuses the write.
    const store = await freshStore('evidence', '400d');
    const reportDir = await mkdtemp(join(dir, 'refused-'));
    const write = writeReport({
      report: pastReport({ name: 'orders', runs: [] }, { at: '2026-11-01T03:17:00Z', restoreSeconds: 100 }),
      reportDir,
      key,
      evidence: store,
    });
    await expect(write).rejects.toBeInstanceOf(ConfigError);
    await expect(write).rejects.toThrow(
      /; the signed report was kept in .*orders\.report\.json but is not in the evidence store$/,
    );
    expect(await listReportFiles(reportDir)).toHaveLength(1);
    expect(await store.reportFiles()).toEqual([]);
    store.destroy();

    // A store that cannot even be read at report time: the report is signed after the directory's newest.
    const gone = await openEvidenceStore('s3://no-such-evidence/x/', { client: client() });
    const kept = writeReport({
      report: pastReport({ name: 'orders', runs: [] }, { at: '2026-12-01T03:17:00Z', restoreSeconds: 100 }),
      reportDir,
      key,
      evidence: gone,
    });
    await expect(kept).rejects.toThrow(
      /^no such S3 bucket: no-such-evidence; the signed report was kept in .* but is not in the evidence store$/,
    );
    expect(await listReportFiles(reportDir)).toHaveLength(2);
    gone.destroy();
  });

  test('an empty store is not an all-clear', async () => {
    const store = await freshStore();
    expect((await verifyStore(store, key.publicKey)).problems).toEqual([
      `${store.uri} holds no reports and no ledger (wrong prefix, or everything was deleted?)`,
    ]);
    store.destroy();
  });

  test('the head written to the store and the --expect-head form round-trip', async () => {
    const store = await freshStore();
    const written = await writeOne(store, 'orders', '2026-11-01T03:17:00Z');
    const head = await store.head();
    expect(parseHead(`${head!.position}:${head!.digest}`)).toEqual(written.head);
    expect(loadPublicKey(keyPaths.publicPath).equals(key.publicKey)).toBe(true);
    store.destroy();
  });
});
