import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { openEvidenceStore, type EvidenceStore } from '../evidence/evidence-store.ts';
import { writeSignedReport } from '../evidence/report-writer.ts';
import { generateKeyPair, loadPublicKey, loadSigningKey, type SigningKey } from '../evidence/signing-key.ts';
import type { VerificationCoverage } from '../model/report.ts';
import { motoS3Client, startMotoServer, type MotoServer } from '../testing/moto-server.ts';
import { pastReport } from '../views/history.testkit.ts';
import { readCoverageHistory } from './coverage-history.ts';

let moto: MotoServer;
let dir: string;
let key: SigningKey;
let publicPath: string;
let store: EvidenceStore;

const client = () => motoS3Client(moto);

/** What a budgeted run records: the ranges it checksummed. */
const covering = (...covered: string[]): { verification: VerificationCoverage } => ({
  verification: {
    budgetSeconds: 60,
    history: 'none',
    coverage: [
      {
        label: 'manifest',
        mode: 'budgeted',
        budgetSeconds: 60,
        rowsPerSecond: 100,
        covered,
        ranges: { checked: covered.length, total: 3 },
        rows: { checked: covered.length, total: 3 },
        shareThisRun: covered.length / 3,
        shareOverRuns: covered.length / 3,
        runs: 1,
      },
    ],
  },
});

beforeAll(async () => {
  moto = await startMotoServer();
  const s3 = client();
  await s3.send(new CreateBucketCommand({ Bucket: 'evidence' }));
  s3.destroy();
  dir = await mkdtemp(join(tmpdir(), 'coverage-history-test-'));
  const keys = generateKeyPair(join(dir, 'keys'));
  key = loadSigningKey(keys.privatePath);
  publicPath = keys.publicPath;
  store = await openEvidenceStore('s3://evidence/drills/', { client: client() });
  // Earlier runs, each on a machine of its own: only the evidence store holds them all.
  const runs: Array<[string, string, Record<string, unknown>]> = [
    ['shop', '2026-11-01T03:00:00Z', covering('public.a#0@1+10x3')],
    ['billing', '2026-11-02T03:00:00Z', covering('public.b#0@hash3')],
    ['shop', '2026-11-03T03:00:00Z', {}], // verified without a budget: nothing to rotate on
    ['shop', '2026-11-04T03:00:00Z', covering('public.a#1@1+10x3')],
  ];
  for (const [name, at, extra] of runs) {
    await writeSignedReport({
      report: { ...pastReport({ name, runs: [] }, { at, restoreSeconds: 10 }), ...extra },
      reportDir: await mkdtemp(join(dir, 'machine-')),
      key,
      evidence: store,
      now: new Date(at),
    });
  }
});
afterAll(async () => {
  store?.destroy();
  await moto?.stop();
  await rm(dir, { recursive: true, force: true });
});

test("on a fresh machine, the drill's budgeted runs are read from the evidence store, newest first, back to what the plan needs", async () => {
  const reportDir = join(dir, 'fresh');
  const positions = new Set(['public.a#0', 'public.a#1', 'public.a#2']);
  const history = await readCoverageHistory({
    reportDir,
    drillName: 'shop',
    publicKey: loadPublicKey(publicPath),
    evidence: store,
    positions,
  });
  expect(history).toEqual({
    runs: [['public.a#1@1+10x3'], ['public.a#0@1+10x3']],
    note: 'the key ranges of 2 earlier signed report(s) of this drill',
  });
  // Once the runs read cover every current range, older ones cannot change the plan: reading stops.
  const recent = await readCoverageHistory({
    reportDir,
    drillName: 'shop',
    publicKey: loadPublicKey(publicPath),
    positions: new Set(['public.a#1']),
  });
  expect(recent.runs).toEqual([['public.a#1@1+10x3']]);
});

test('a store that cannot be read gives no history, and the note says the rotation starts over', async () => {
  const missing = await openEvidenceStore('s3://no-such-bucket/drills/', { client: client() });
  try {
    const history = await readCoverageHistory({
      reportDir: join(dir, 'elsewhere'),
      drillName: 'shop',
      publicKey: loadPublicKey(publicPath),
      evidence: missing,
      positions: new Set(['public.a#0']),
    });
    expect(history.runs).toEqual([]);
    expect(history.note).toMatch(
      /^the evidence store could not be read \(.+\): the rotation starts from the first key range$/,
    );
  } finally {
    missing.destroy();
  }
});
