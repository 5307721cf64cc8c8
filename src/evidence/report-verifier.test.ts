import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readFile, rename, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.ts';
import { signEnvelope } from './dsse.ts';
import { fileDigest } from './report-files.ts';
import { verifyLedger, verifyReportFile } from './report-verifier.ts';
import { writeReport } from '../drill/report-writer.ts';
import { sampleReport } from '../model/sample-report.fixture.ts';
import { fingerprint, type SigningKey } from './signing-key.ts';

function newKey(): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { privateKey, publicKey, keyid: fingerprint(publicKey), source: 'generated in memory' };
}
const key = newKey();
const { previous: _, ...report } = sampleReport();

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'restore-drill-verify-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Writes `count` reports an hour apart and returns their file names, oldest first. */
async function writeLedger(count: number): Promise<string[]> {
  const names: string[] = [];
  for (let i = 0; i < count; i++) {
    const now = new Date(Date.UTC(2026, 10, 23, 10 + i));
    const { jsonPath } = await writeReport({ report: { ...report, runId: `run-${i}` }, reportDir: dir, key, now });
    names.push(basename(jsonPath));
  }
  return names;
}

/** Replaces one character of the base64 payload with another valid base64 character. */
async function editPayload(path: string): Promise<void> {
  const text = await readFile(path, 'utf8');
  const index = text.indexOf('"payload": "') + '"payload": "'.length + 40;
  await writeFile(path, text.slice(0, index) + (text[index] === 'A' ? 'B' : 'A') + text.slice(index + 1));
}

describe('verifyReportFile', () => {
  it('returns the signed report of a valid file', async () => {
    const [name] = await writeLedger(1);
    const path = join(dir, name!);
    expect(await verifyReportFile(path, key.publicKey)).toEqual({
      file: path,
      valid: true,
      report: { ...report, runId: 'run-0', signing: { demoKey: false }, previous: null, position: 1, reportFile: name },
    });
  });

  it('rejects an edited file, another key, and files that are not reports', async () => {
    const [name] = await writeLedger(1);
    const path = join(dir, name!);
    const other = newKey();
    expect(await verifyReportFile(path, other.publicKey)).toMatchObject({
      valid: false,
      reason: `no signature by key ${other.keyid}`,
    });

    await editPayload(path);
    expect(await verifyReportFile(path, key.publicKey)).toMatchObject({
      valid: false,
      reason: 'signature does not match',
    });

    const notJson = join(dir, 'broken.report.json');
    await writeFile(notJson, '{"payloadType": ');
    expect(await verifyReportFile(notJson, key.publicKey)).toMatchObject({
      valid: false,
      reason: 'not a DSSE envelope: not JSON',
    });

    const foreign = join(dir, 'foreign.report.json');
    const statement = {
      _type: 'https://in-toto.io/Statement/v1',
      subject: [],
      predicateType: 'https://slsa.dev/provenance/v1',
      predicate: {},
    };
    await writeFile(foreign, JSON.stringify(signEnvelope(Buffer.from(JSON.stringify(statement)), key)));
    expect(await verifyReportFile(foreign, key.publicKey)).toMatchObject({
      valid: false,
      reason: 'predicateType is "https://slsa.dev/provenance/v1", expected https://restore-drill.dev/report/v1',
    });
  });

  it('throws a ConfigError for a file that is not there', async () => {
    const path = join(dir, 'missing.report.json');
    await expect(verifyReportFile(path, key.publicKey)).rejects.toBeInstanceOf(ConfigError);
    await expect(verifyReportFile(path, key.publicKey)).rejects.toThrow(`report not found: ${path}`);
  });
});

describe('verifyLedger', () => {
  it('accepts an unbroken chain', async () => {
    await writeLedger(4);
    const result = await verifyLedger(dir, key.publicKey);
    expect(result).toMatchObject({ valid: true, problems: [] });
    expect(result.entries.map((e) => e.position)).toEqual([1, 2, 3, 4]);
  });

  it('names a chain whose oldest reports were removed, and how many', async () => {
    const names = await writeLedger(4);
    await rm(join(dir, names[0]!));
    await rm(join(dir, names[1]!));
    const result = await verifyLedger(dir, key.publicKey);
    expect(result.valid).toBe(false);
    expect(result.problems).toEqual([
      `${names[2]}: comes first but is position 3 of its chain: 2 earlier report(s) missing (the oldest were removed?)`,
    ]);
  });

  it('names a report that was renamed, even when the order stays the same', async () => {
    const names = await writeLedger(3);
    const renamed = names[1]!.replace('T110000Z', 'T113000Z'); // still a name restore-drill writes, in the same place
    await rename(join(dir, names[1]!), join(dir, renamed));
    const result = await verifyLedger(dir, key.publicKey);
    expect(result.problems).toEqual([`${renamed}: was signed as ${names[1]} (renamed?)`]);
    expect(await verifyReportFile(join(dir, renamed), key.publicKey)).toMatchObject({
      valid: false,
      reason: `was signed as ${names[1]} (renamed?)`,
    });
  });

  it('names the report after a deleted one', async () => {
    const names = await writeLedger(4);
    await rm(join(dir, names[1]!));
    const result = await verifyLedger(dir, key.publicKey);
    expect(result.valid).toBe(false);
    expect(result.problems).toHaveLength(1);
    expect(result.problems[0]).toMatch(new RegExp(`^${names[2]}: its previous report sha256:[0-9a-f]{64} is not in `));
    expect(result.problems[0]).toContain(
      `: 1 report(s) missing after ${names[0]} (position 1) (a report was deleted or edited?)`,
    );
  });

  it('names an edited report (bad signature) and the report after it (chain broken)', async () => {
    const names = await writeLedger(4);
    await editPayload(join(dir, names[1]!));
    const result = await verifyLedger(dir, key.publicKey);
    expect(result.valid).toBe(false);
    expect(result.problems).toEqual([
      `${names[1]}: signature does not match`,
      expect.stringMatching(new RegExp(`^${names[2]}: its previous report .* is not in .*${names[1]} comes before it`)),
    ]);
  });

  it('names reordered reports', async () => {
    const names = await writeLedger(3);
    // Renaming the middle report so it sorts last swaps its place with the newest one.
    const moved = names[1]!.replace('T11', 'T13');
    await rename(join(dir, names[1]!), join(dir, moved));
    const result = await verifyLedger(dir, key.publicKey);
    expect(result.valid).toBe(false);
    expect(result.problems).toEqual([
      `${names[2]}: follows ${moved}, not ${names[0]} which comes before it (reordered?)`,
      `${moved}: was signed as ${names[1]} (renamed?)`,
      `${moved}: follows ${names[0]}, not ${names[2]} which comes before it (reordered?)`,
    ]);
  });

  it('names a first report that follows a later one', async () => {
    const names = await writeLedger(2);
    const moved = `20260101T000000Z-${names[1]!.slice(17)}`;
    await rename(join(dir, names[1]!), join(dir, moved));
    const result = await verifyLedger(dir, key.publicKey);
    expect(result.problems).toContain(`${moved}: comes first but follows ${names[0]} (reordered?)`);
  });

  it('names a report-named file too large to be a report; the next report links to the one before it', async () => {
    const names = await writeLedger(2);
    const huge = '20261123T115959Z-huge.report.json';
    await writeFile(join(dir, huge), '');
    await truncate(join(dir, huge), 32 * 1024 * 1024 + 1); // sparse: no disk needed
    const warnings: string[] = [];
    const next = await writeReport({
      report,
      reportDir: dir,
      key,
      now: new Date(Date.UTC(2026, 10, 23, 13)),
      warn: (l) => warnings.push(l),
    });
    expect(next.previous).toBe(fileDigest(await readFile(join(dir, names[1]!))));
    expect(warnings).toEqual([
      `restore-drill: warning: ${join(dir, huge)} is larger than 32 MiB, not a report restore-drill wrote; the new report does not link to it`,
    ]);
    // The chain is read around it, and the file itself is the problem.
    expect(await verifyLedger(dir, key.publicKey)).toMatchObject({
      valid: false,
      problems: [`${huge}: is larger than 32 MiB, not a report restore-drill wrote`],
    });
  });

  it('skips a stray file whose name restore-drill never writes, with a warning (not a chain problem)', async () => {
    await writeLedger(2);
    await writeFile(join(dir, 'zzzz.report.json'), 'garbage');
    expect(await verifyLedger(dir, key.publicKey)).toMatchObject({ valid: true, problems: [] });
  });

  it('accepts an empty directory and refuses a missing one', async () => {
    expect(await verifyLedger(dir, key.publicKey)).toEqual({ valid: true, problems: [], entries: [] });
    await expect(verifyLedger(join(dir, 'nope'), key.publicKey)).rejects.toBeInstanceOf(ConfigError);
  });
});
