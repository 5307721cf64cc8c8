import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash, verify } from 'node:crypto';
import { CreateAliasCommand, CreateKeyCommand, KMSClient, SignCommand, type KeySpec } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ConfigError, RestoreDrillError } from '../errors.ts';
import { startMotoServer, type MotoServer } from '../testing/moto-server.ts';
import { freePort } from '../util/free-port.ts';
import { fetchKmsPublicKey, KMS_RAW_MESSAGE_LIMIT, kmsSigner } from './kms-signer.ts';
import { parseKmsKeyRef } from '../aws/kms-client.ts';
import { pae, PAYLOAD_TYPE } from './dsse.ts';
import { verifyReportFile } from './report-verifier.ts';
import { writeReport } from '../drill/report-writer.ts';
import { sampleReport } from '../model/sample-report.fixture.ts';
import { serializeStatement, buildStatement } from './statement.ts';

let moto: MotoServer;
let kms: KMSClient;
let dir: string;
const savedEnv = { ...process.env };

async function createKey(
  keySpec: KeySpec,
  alias?: string,
  keyUsage: 'SIGN_VERIFY' | 'ENCRYPT_DECRYPT' = 'SIGN_VERIFY',
): Promise<string> {
  const { KeyMetadata } = await kms.send(new CreateKeyCommand({ KeySpec: keySpec, KeyUsage: keyUsage }));
  if (alias) await kms.send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: KeyMetadata!.KeyId! }));
  return KeyMetadata!.Arn!;
}

const { previous: _, ...report } = sampleReport();

beforeAll(async () => {
  moto = await startMotoServer();
  // The signer uses the SDK's standard configuration, as in production: point it at moto through the env.
  Object.assign(process.env, moto.env);
  kms = new KMSClient({
    endpoint: moto.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  });
  dir = await mkdtemp(join(tmpdir(), 'kms-signer-test-'));
});
afterAll(async () => {
  kms?.destroy();
  await moto?.stop();
  await rm(dir, { recursive: true, force: true });
  process.env = savedEnv;
});

describe('kmsSigner against moto KMS', () => {
  test.each([
    ['ECC_NIST_P256', 'ecdsa-p256-sha256'],
    ['ECC_NIST_P384', 'ecdsa-p384-sha384'],
    ['RSA_2048', 'rsa-pss-sha256'],
  ] as const)(
    '%s: a report signed in KMS verifies with the exported public key; one changed byte does not',
    async (spec, algorithm) => {
      await createKey(spec, `alias/drills-${spec.toLowerCase()}`);
      const signer = await kmsSigner(`kms://alias/drills-${spec.toLowerCase()}`);
      expect(signer.algorithm).toBe(algorithm);
      expect(JSON.stringify(signer)).not.toContain('kms://'); // source is not enumerable

      const reportDir = join(dir, spec);
      const written = await writeReport({ report, reportDir, key: signer });
      const { publicKey, keyid } = await fetchKmsPublicKey(`kms://alias/drills-${spec.toLowerCase()}`);
      expect(keyid).toBe(signer.keyid);
      const verified = await verifyReportFile(written.jsonPath, publicKey);
      expect(verified.valid).toBe(true);
      expect(verified.report?.drill.name).toBe(report.drill.name);

      const envelope = JSON.parse(await readFile(written.jsonPath, 'utf8'));
      expect(envelope.signatures[0].keyid).toBe(keyid);
      const sig = Buffer.from(envelope.signatures[0].sig, 'base64');
      if (spec.startsWith('ECC')) expect(sig[0]).toBe(0x30); // ASN.1 DER SEQUENCE, as KMS returns it

      const payload = Buffer.from(envelope.payload, 'base64');
      payload[payload.indexOf('failed')] = 'F'.charCodeAt(0);
      await writeFile(written.jsonPath, JSON.stringify({ ...envelope, payload: payload.toString('base64') }));
      const tampered = await verifyReportFile(written.jsonPath, publicKey);
      expect(tampered).toMatchObject({ valid: false, reason: 'signature does not match' });
    },
  );

  test('a key ARN works as well, and carries its region', async () => {
    const arn = await createKey('ECC_NIST_P256');
    expect(parseKmsKeyRef(`kms://${arn}`)).toEqual({ keyId: arn, region: 'us-east-1' });
    const signer = await kmsSigner(`kms://${arn}`);
    const message = Buffer.from('hello');
    const { verifySignature } = await import('./signer-algorithms.ts');
    expect(verifySignature(message, await signer.sign(message), signer.publicKey)).toBe(true);
  });

  test('a payload over 4096 bytes is sent as its SHA-256 digest: it verifies where KMS implements DIGEST, and fails loudly (no report) where moto signs the digest of the digest', async () => {
    const arn = await createKey('ECC_NIST_P256', 'alias/large');
    // How this KMS treats MessageType DIGEST (moto 5.2 hashes it again: getmoto/moto#10202, still open).
    const probe = createHash('sha256').update('probe').digest();
    const { Signature } = await kms.send(
      new SignCommand({ KeyId: arn, SigningAlgorithm: 'ECDSA_SHA_256', MessageType: 'DIGEST', Message: probe }),
    );
    const { publicKey } = await fetchKmsPublicKey('kms://alias/large');
    const digestImplemented = verify('sha256', Buffer.from('probe'), publicKey, Buffer.from(Signature!));
    if (!digestImplemented) expect(verify('sha256', probe, publicKey, Buffer.from(Signature!))).toBe(true); // signed sha256(digest)

    const signer = await kmsSigner('kms://alias/large');
    const checks = Array.from({ length: 60 }, (_, i) => ({
      name: `row count public.table_${i} (manifest)`,
      status: 'passed' as const,
      expected: i,
      actual: i,
    }));
    const big = { ...report, checks };
    expect(pae(PAYLOAD_TYPE, serializeStatement(buildStatement({ ...big, previous: null }))).length).toBeGreaterThan(
      KMS_RAW_MESSAGE_LIMIT,
    );
    const reportDir = join(dir, 'large');
    const outcome = await writeReport({ report: big, reportDir, key: signer }).catch((error: Error) => error);
    if (digestImplemented) {
      expect(outcome).not.toBeInstanceOf(Error);
      expect((await verifyReportFile((outcome as { jsonPath: string }).jsonPath, signer.publicKey)).valid).toBe(true);
    } else {
      expect(outcome).toBeInstanceOf(RestoreDrillError);
      expect((outcome as Error).message).toMatch(
        /^KMS key alias\/large returned a DIGEST signature that does not verify against its public key sha256:[0-9a-f]{64}$/,
      );
      expect((await readdir(reportDir).catch(() => [] as string[])).filter((n) => n.endsWith('.report.json'))).toEqual(
        [],
      );
    }
  });

  test('keys restore-drill cannot sign with, and unknown keys, are one-line ConfigErrors', async () => {
    await createKey('SYMMETRIC_DEFAULT', 'alias/symmetric', 'ENCRYPT_DECRYPT');
    await createKey('ECC_SECG_P256K1', 'alias/k1');
    const errorOf = (spec: string) =>
      kmsSigner(spec).then(
        () => expect.fail('should throw'),
        (e: unknown) => e as ConfigError,
      );

    const symmetric = await errorOf('kms://alias/symmetric');
    expect(symmetric).toBeInstanceOf(ConfigError);
    expect(symmetric.message).toBe('KMS key alias/symmetric is a ENCRYPT_DECRYPT key, not SIGN_VERIFY');

    const k1 = await errorOf('kms://alias/k1');
    expect(k1.message).toBe('KMS key alias/k1 is ECC_SECG_P256K1, which restore-drill does not sign with');
    expect(k1.hint).toMatch(/ECC_NIST_P256/);

    const missing = await errorOf('kms://alias/no-such-key');
    expect(missing).toBeInstanceOf(ConfigError);
    expect(missing.message).toBe('KMS key alias/no-such-key not found (NotFoundException)');

    const bad = await errorOf('kms://arn:aws:s3:::bucket');
    expect(bad.message).toBe('"kms://arn:aws:s3:::bucket" is not a KMS key reference');
  });

  test('an unreachable KMS endpoint names the endpoint and the errno', async () => {
    const saved = process.env.AWS_ENDPOINT_URL;
    const closed = `http://127.0.0.1:${await freePort()}`;
    process.env.AWS_ENDPOINT_URL = closed;
    try {
      const error = (await kmsSigner('kms://alias/anything').catch((e: unknown) => e)) as ConfigError;
      expect(error).toBeInstanceOf(ConfigError);
      expect(error.message).toBe(`cannot reach KMS at ${closed} for KMS key alias/anything: ECONNREFUSED`);
    } finally {
      process.env.AWS_ENDPOINT_URL = saved;
    }
  });
});
