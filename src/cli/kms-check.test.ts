import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateAliasCommand, CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createMotoAccessKey, startMotoServer, type MotoServer } from '../testing/moto-server.ts';
import { hasStackTrace, runCli } from '../testing/run-cli.ts';

let moto: MotoServer;
let dir: string;

beforeAll(async () => {
  moto = await startMotoServer();
  dir = await mkdtemp(join(tmpdir(), 'kms-check-test-'));
  const kms = new KMSClient({
    endpoint: moto.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  });
  const { KeyMetadata } = await kms.send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }));
  await kms.send(new CreateAliasCommand({ AliasName: 'alias/restore-drill', TargetKeyId: KeyMetadata!.KeyId! }));
  kms.destroy();
});
afterAll(async () => {
  await moto?.stop();
  await rm(dir, { recursive: true, force: true });
});

const reportsIn = async (reportDir: string) =>
  (await readdir(reportDir).catch(() => [])).filter((n) => n.endsWith('.report.json'));

describe.concurrent('restore-drill with a KMS signing key', () => {
  test('check signs with a KMS key (RESTORE_DRILL_SIGNING_KEY=kms://…); verify works from the exported public key', async () => {
    const reportDir = join(dir, 'reports');
    const [exported, checked] = await Promise.all([
      runCli(['keygen', '--kms', 'kms://alias/restore-drill', '--out', join(dir, 'pub')], { env: moto.env }),
      // A dump that is not there: a quick drill that fails in `locate` and still writes a signed report.
      runCli(['check', '--dump', join(dir, 'missing.dump'), '--report-dir', reportDir], {
        env: { ...moto.env, RESTORE_DRILL_SIGNING_KEY: 'kms://alias/restore-drill' },
      }),
    ]);
    expect(exported.code).toBe(0);
    expect(exported.stdout).toMatch(
      /public key: {2}.*signing-key\.pub\.pem of KMS key .* \(ECC_NIST_P256, signs with ECDSA_SHA_256\)/,
    );
    const keyid = /key id: +(sha256:[0-9a-f]{64})/.exec(exported.stdout)?.[1];
    expect(keyid).toBeDefined();
    expect(await readdir(join(dir, 'pub'))).toEqual(['signing-key.pub.pem']); // no private key: it stays in KMS

    expect(checked.code).toBe(1);
    expect(checked.stdout).toMatch(/FAILED/);
    const [name] = await reportsIn(reportDir);
    const envelope = JSON.parse(await readFile(join(reportDir, name!), 'utf8'));
    expect(envelope.signatures[0].keyid).toBe(keyid);

    const payload = Buffer.from(envelope.payload, 'base64');
    payload[payload.indexOf('"failed"') + 1] = 'F'.charCodeAt(0);
    const tampered = join(dir, 'tampered.report.json');
    await writeFile(tampered, JSON.stringify({ ...envelope, payload: payload.toString('base64') }));
    const verified = await runCli([
      'verify',
      join(reportDir, name!),
      tampered,
      '--key',
      join(dir, 'pub', 'signing-key.pub.pem'),
      '--ledger',
      reportDir,
    ]);
    expect(verified.stdout).toMatch(/^valid {3}.*drill "check missing\.dump" failed/m);
    expect(verified.stdout).toMatch(/^INVALID .*tampered\.report\.json — signature does not match$/m);
    expect(verified.stdout).toMatch(/^valid {3}ledger .* — chain unbroken$/m);
    expect(verified.stdout).toContain(`verification FAILED (key ${keyid})`);
    expect(verified.code).toBe(1);
  });

  test('an unknown KMS key and a denied one: one line, exit 2, before any drill runs', async () => {
    await using strict = await startMotoServer({ env: { INITIAL_NO_AUTH_ACTION_COUNT: '3' } });
    const user = await createMotoAccessKey(strict, 'drill');
    const kms = new KMSClient({ endpoint: strict.endpoint, region: 'us-east-1', credentials: user });
    const { KeyMetadata } = await kms.send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }));
    kms.destroy();

    const reportDir = join(dir, 'not-signed');
    const [unknown, denied] = await Promise.all([
      runCli(
        [
          'check',
          '--dump',
          join(dir, 'missing.dump'),
          '--report-dir',
          reportDir,
          '--signing-key',
          'kms://alias/no-such-key',
        ],
        { env: moto.env },
      ),
      runCli(
        [
          'check',
          '--dump',
          join(dir, 'missing.dump'),
          '--report-dir',
          reportDir,
          '--signing-key',
          `kms://${KeyMetadata!.KeyId}`,
        ],
        {
          env: { ...strict.env, AWS_ACCESS_KEY_ID: user.accessKeyId, AWS_SECRET_ACCESS_KEY: user.secretAccessKey },
        },
      ),
    ]);
    expect(unknown.stderr).toBe(
      'restore-drill: KMS key alias/no-such-key not found (NotFoundException) — check the key id, alias or ARN and the region; ' +
        'pass --signing-key kms://<key id | alias/name | ARN> of an asymmetric SIGN_VERIFY key\n',
    );
    expect(denied.stderr).toMatch(
      new RegExp(
        `^restore-drill: KMS denied kms:GetPublicKey on ${KeyMetadata!.KeyId} \\((AccessDeniedException|HTTP 403)\\) — .*kms:Sign on the key\\n$`,
      ),
    );
    for (const out of [unknown, denied]) {
      expect(out.code).toBe(2);
      expect(hasStackTrace(out.stderr)).toBe(false);
      expect(out.stderr + out.stdout).not.toContain(user.secretAccessKey);
    }
    expect(await reportsIn(reportDir)).toEqual([]);
  });
});
