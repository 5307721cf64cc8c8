import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { sampleReport } from '../model/sample-report.fixture.ts';
import { verifyEnvelope } from './dsse.ts';
import { fileDigest } from './report-files.ts';
import { writeSignedReport } from './report-writer.ts';
import { fingerprint, type SigningKey } from './signing-key.ts';

// The views of a report (Markdown, HTML) are written by drill/report-writer.ts after this; its tests cover
// naming, chaining and locking through both.
const pair = generateKeyPairSync('ed25519');
const key: SigningKey = { ...pair, keyid: fingerprint(pair.publicKey), source: 'generated in memory' };
const report = sampleReport(); // its `previous` is replaced by the writer

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'signed-report-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('writes the signed report and nothing else, and releases the lock', async () => {
  const signed = await writeSignedReport({ report, reportDir: dir, key, now: new Date('2026-11-23T17:55:33Z') });
  expect(await readdir(dir)).toEqual([basename(signed.jsonPath)]);
  expect(signed.base).toBe('20261123T175533Z-orders-db-nightly-dump');
  const bytes = await readFile(signed.jsonPath);
  expect(signed.head).toEqual({ position: 1, digest: fileDigest(bytes) });
  const verified = verifyEnvelope(JSON.parse(bytes.toString('utf8')), key.publicKey);
  expect(verified.valid && (verified.statement as { predicate: unknown }).predicate).toEqual(signed.report);
  expect(signed.storeError).toBeUndefined();
});
