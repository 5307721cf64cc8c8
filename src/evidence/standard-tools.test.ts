import { execFile } from 'node:child_process';
import { constants, createHash, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { BIN } from '../testing/run-cli.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { monthlyRuns, newSigningKey, writeReportDirectory } from '../views/history.testkit.ts';

// docs/auditors.md promises that a report can be checked with openssl, jq and base64 alone. These tests run
// the real binaries on reports written by the real writer, and run the shell blocks of that document as written.

const run = promisify(execFile);
const DOC = new URL('../../docs/auditors.md', import.meta.url);
const key = newSigningKey();
let dir: string;
let work: string;
let names: string[];
let pubPem: string;

/**
 * The shell block after `<!-- tested: NAME -->` in docs/auditors.md, as written, under `set -u` so that a
 * variable the reader was never told to set fails the block instead of expanding to nothing.
 */
async function docBlock(name: string): Promise<string> {
  const text = await readFile(DOC, 'utf8');
  const match = new RegExp(`<!-- tested: ${name} -->\\n\`\`\`sh\\n([\\s\\S]*?)\`\`\``).exec(text);
  if (!match) throw new Error(`docs/auditors.md has no block marked "tested: ${name}"`);
  return `set -u\n${match[1]!}`;
}

/** Runs a shell snippet with bash in `work` (or `cwd`); never throws, returns what it printed and its exit code. */
async function bash(
  script: string,
  env: Record<string, string> = {},
  cwd = work,
): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await run('bash', ['-c', script], { cwd, env: { ...process.env, ...env } });
    return { code: 0, out: stdout + stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return {
      code: typeof failed.code === 'number' ? failed.code : -1,
      out: `${failed.stdout ?? ''}${failed.stderr ?? ''}`,
    };
  }
}

/** The PAE of an envelope, built by hand from the DSSE specification (not with the code under test). */
function paeOf(envelope: { payloadType: string; payload: string }): Buffer {
  const payload = Buffer.from(envelope.payload, 'base64');
  const head = `DSSEv1 ${Buffer.byteLength(envelope.payloadType)} ${envelope.payloadType} ${payload.length} `;
  return Buffer.concat([Buffer.from(head), payload]);
}

/** A copy of a report whose signed payload says something else: the drill "passed" with a 1 s restore. */
function tampered(envelope: { payload: string }): object {
  const statement = JSON.parse(Buffer.from(envelope.payload, 'base64').toString('utf8'));
  statement.predicate.status = 'passed';
  statement.predicate.phases[2].seconds = 1;
  return { ...envelope, payload: Buffer.from(JSON.stringify(statement)).toString('base64') };
}

/** A fresh folder as an auditor has it: `reports/` (a copy of the directory) and `signing-key.pub.pem`. */
async function auditorFolder(): Promise<string> {
  const folder = await mkdtemp(join(tmpdir(), 'restore-drill-auditor-'));
  await cp(dir, join(folder, 'reports'), { recursive: true });
  await copyFile(pubPem, join(folder, 'signing-key.pub.pem'));
  return folder;
}

async function envelopeOf(
  name: string,
): Promise<{ payloadType: string; payload: string; signatures: { keyid: string; sig: string }[] }> {
  return JSON.parse(await readFile(join(dir, name), 'utf8'));
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'restore-drill-openssl-reports-'));
  work = await mkdtemp(join(tmpdir(), 'restore-drill-openssl-'));
  names = await writeReportDirectory(dir, key, [
    { name: 'Orders DB', runs: monthlyRuns('2026-01', [100, null, 120, 130]) },
  ]);
  pubPem = join(work, 'signing-key.pub.pem');
  await writeFile(pubPem, key.publicKey.export({ type: 'spki', format: 'pem' }));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
  await rm(work, { recursive: true, force: true });
});

describe('openssl on the PAE bytes', () => {
  it('verifies a report written by writeReport, and fails for a tampered one', async () => {
    const envelope = await envelopeOf(names[1]!);
    await writeFile(join(work, 'sig.bin'), Buffer.from(envelope.signatures[0]!.sig, 'base64'));
    const verify = 'openssl pkeyutl -verify -pubin -inkey signing-key.pub.pem -rawin -in pae.bin -sigfile sig.bin';

    await writeFile(join(work, 'pae.bin'), paeOf(envelope));
    expect(await bash(verify)).toEqual({ code: 0, out: 'Signature Verified Successfully\n' });

    await writeFile(join(work, 'pae.bin'), paeOf(tampered(envelope) as typeof envelope));
    const bad = await bash(verify);
    expect(bad.code).toBe(1);
    expect(bad.out).toContain('Signature Verification Failure');
  });

  it('the fingerprint command of the docs gives the keyid of the envelope', async () => {
    const { out } = await bash('openssl pkey -pubin -in signing-key.pub.pem -outform DER | sha256sum');
    expect(`sha256:${out.split(' ')[0]}`).toBe(key.keyid);
    expect((await envelopeOf(names[0]!)).signatures[0]!.keyid).toBe(key.keyid);
  });
});

describe('the shell blocks of docs/auditors.md', () => {
  it('"openssl-verify" accepts a valid report and rejects a tampered one', async () => {
    const script = await docBlock('openssl-verify');
    const good = await bash(script, { REPORT: join(dir, names[2]!), KEY: pubPem });
    expect(good).toEqual({ code: 0, out: 'Signature Verified Successfully\n' });
    // What the auditor then reads is the verified payload.
    const payload = JSON.parse(await readFile(join(work, 'payload.json'), 'utf8'));
    expect(payload.predicate.drill.name).toBe('Orders DB');

    const forged = join(work, 'forged.report.json');
    await writeFile(forged, JSON.stringify(tampered(await envelopeOf(names[1]!)), null, 2));
    const bad = await bash(script, { REPORT: forged, KEY: pubPem });
    expect(bad.code).toBe(1);
    expect(bad.out).toContain('Signature Verification Failure');

    const otherKey = join(work, 'other.pub.pem');
    await writeFile(otherKey, newSigningKey().publicKey.export({ type: 'spki', format: 'pem' }));
    expect((await bash(script, { REPORT: join(dir, names[2]!), KEY: otherKey })).code).toBe(1);
  });

  it('"openssl-verify-ecdsa" verifies ECDSA P-256 and RSA signatures over the same PAE (KMS keys)', async () => {
    const script = await docBlock('openssl-verify-ecdsa');
    const pae = paeOf(await envelopeOf(names[0]!));
    await writeFile(join(work, 'pae.bin'), pae);
    const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const cases: Array<[string, KeyObject, Buffer, string]> = [
      ['ecdsa', ec.publicKey, sign('sha256', pae, ec.privateKey), script],
      ['rsa-pkcs1', rsa.publicKey, sign('sha256', pae, rsa.privateKey), script],
      [
        'rsa-pss',
        rsa.publicKey,
        sign('sha256', pae, { key: rsa.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }),
        script.replace(
          '-signature sig.bin',
          '-signature sig.bin -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:-2',
        ),
      ],
    ];
    for (const [name, publicKey, sig, command] of cases) {
      const keyPath = join(work, `${name}.pub.pem`);
      await writeFile(keyPath, publicKey.export({ type: 'spki', format: 'pem' }));
      await writeFile(join(work, 'sig.bin'), sig);
      expect(await bash(command, { KEY: keyPath }), name).toEqual({ code: 0, out: 'Verified OK\n' });
      const flipped = Buffer.from(sig);
      flipped[flipped.length - 5]! ^= 0x01;
      await writeFile(join(work, 'sig.bin'), flipped);
      expect((await bash(command, { KEY: keyPath })).code, name).toBe(1);
    }
  });

  it('"ledger" finds an unbroken chain, names the report after a removed or tampered one, and a cut end with EXPECT_NEWEST', async () => {
    const script = await docBlock('ledger');
    const newest = `sha256:${createHash('sha256')
      .update(await readFile(join(dir, names.at(-1)!)))
      .digest('hex')}`;
    const unbroken = `ledger: chain unbroken, ${names.length} reports, newest ${newest}\n`;
    const auditor = await auditorFolder();
    try {
      expect(await bash(script, {}, auditor)).toEqual({ code: 0, out: unbroken });
      expect(await bash(script, { EXPECT_NEWEST: newest }, auditor)).toEqual({ code: 0, out: unbroken });

      // Truncated at the end: the chain left is unbroken, but the newest digest recorded outside no longer matches.
      await rm(join(auditor, 'reports', names.at(-1)!));
      const cut = await bash(script, { EXPECT_NEWEST: newest }, auditor);
      expect(cut.code).toBe(1);
      expect(cut.out).toMatch(
        new RegExp(
          `^ledger: the newest report has digest sha256:[0-9a-f]{64}, expected ${newest}: reports are missing at the end\\n$`,
        ),
      );

      // Truncated in the middle: a failed drill quietly removed.
      await rm(join(auditor, 'reports', names[1]!));
      const broken = await bash(script, {}, auditor);
      expect(broken.code).toBe(1);
      expect(broken.out).toMatch(
        new RegExp(
          `^BROKEN at ${names[2]}: it follows sha256:[0-9a-f]{64}, but the file before it has digest sha256:[0-9a-f]{64}\\n$`,
        ),
      );
    } finally {
      await rm(auditor, { recursive: true, force: true });
    }

    // Tampered: the first report says it passed.
    const tamperedFolder = await auditorFolder();
    try {
      await writeFile(
        join(tamperedFolder, 'reports', names[0]!),
        JSON.stringify(tampered(await envelopeOf(names[0]!)), null, 2),
      );
      const out = await bash(script, {}, tamperedFolder);
      expect(out.code).toBe(1);
      expect(out.out).toMatch(new RegExp(`^BROKEN at ${names[1]}: it follows `));
    } finally {
      await rm(tamperedFolder, { recursive: true, force: true });
    }

    // A folder without reports (or the wrong folder) is no all-clear.
    const empty = await mkdtemp(join(tmpdir(), 'restore-drill-auditor-empty-'));
    try {
      const out = await bash(script, {}, empty);
      expect(out.code).toBe(1);
      expect(out.out).toContain('ledger: no reports in reports\n');
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });

  it('"set-report", "openssl-verify" and "read-payload" in a row verify the named report and print what it says', async () => {
    const auditor = await auditorFolder();
    try {
      await copyFile(
        join(dir, names[1]!),
        join(auditor, 'reports', '20261123T175533Z-orders-db-nightly-dump.report.json'),
      );
      const script = [
        await docBlock('set-report'),
        await docBlock('openssl-verify'),
        await docBlock('read-payload'),
        await docBlock('read-position'),
      ].join('\n');
      const out = await bash(script, {}, auditor);
      expect(out.code, out.out).toBe(0);
      expect(out.out).toMatch(/^Signature Verified Successfully\n/);
      expect(out.out).toContain('"drill": "Orders DB"');
      expect(out.out).toContain('"status": "failed"');
      expect(out.out).toContain('"demoKey": false');
      expect(out.out).toContain('FAILED checksum: expected 9f2c, got 77aa range id 1000..1999 differs | 3 rows');
      expect(out.out).toMatch(
        /"position": 2,\n\s*"previous": "sha256:[0-9a-f]{64}",\n\s*"reportFile": "[^"]+\.report\.json"/,
      );
    } finally {
      await rm(auditor, { recursive: true, force: true });
    }
  });

  it('"with-restore-drill" verifies the directory and writes the history page and the controls matrix', async () => {
    const auditor = await auditorFolder();
    try {
      // `npx restore-drill` is this checkout's command, as after `npm install restore-drill`.
      const shims = join(auditor, '.bin');
      await mkdir(shims);
      await writeFile(
        join(shims, 'npx'),
        `#!/bin/sh\n[ "$1" = restore-drill ] && shift\nexec "${process.execPath}" "${BIN}" "$@"\n`,
        { mode: 0o755 },
      );
      const out = await bash(
        await docBlock('with-restore-drill'),
        { PATH: `${shims}:${process.env.PATH}`, NODE_NO_WARNINGS: '1' },
        auditor,
      );
      expect(out.code, out.out).toBe(0);
      expect(out.out).toContain('valid   ledger reports — chain unbroken');
      expect(existsSync(join(auditor, 'audit.html'))).toBe(true);
      expect(JSON.parse(await readFile(join(auditor, 'controls.json'), 'utf8')).schema).toBe(
        'restore-drill.controls/v1',
      );
    } finally {
      await rm(auditor, { recursive: true, force: true });
    }
  });
});

describe('the shell blocks of docs/', () => {
  it('are each either run by these tests (<!-- tested: NAME -->) or say why not (<!-- not run: … -->)', async () => {
    const tested = [
      'with-restore-drill',
      'set-report',
      'openssl-verify',
      'read-payload',
      'read-position',
      'openssl-verify-ecdsa',
      'ledger',
    ];
    const docs = fileURLToPath(new URL('../../docs/', import.meta.url));
    const found: string[] = [];
    for (const name of (await readdir(docs)).filter((n) => n.endsWith('.md'))) {
      const lines = (await readFile(join(docs, name), 'utf8')).split('\n');
      lines.forEach((line, i) => {
        if (!/^```(sh|bash)\b/.test(line)) return;
        const marker = /^<!-- (tested: ([\w-]+)|not run: .+) -->$/.exec(lines[i - 1] ?? '');
        expect(
          marker,
          `${name}:${i + 1}: a shell block needs <!-- tested: NAME --> or <!-- not run: why --> above it`,
        ).not.toBeNull();
        if (marker![2]) found.push(`${name}:${marker![2]}`);
      });
    }
    expect(found.sort()).toEqual(tested.map((t) => `auditors.md:${t}`).sort());
  });
});
