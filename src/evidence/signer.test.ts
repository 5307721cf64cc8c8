import { constants, generateKeyPairSync, sign } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { signEnvelopeWith, verifyEnvelope } from './dsse.ts';
import { resolveSigner, toSigner } from './signer.ts';
import { unsupportedKeyReason, verifySignature } from './signer-algorithms.ts';
import { generateKeyPair, loadSigningKey } from './signing-key.ts';

const message = Buffer.from('DSSEv1 28 application/vnd.in-toto+json 2 {}');
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'signer-test-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('verifySignature', () => {
  test('Ed25519', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    expect(verifySignature(message, sign(null, message, privateKey), publicKey)).toBe(true);
    expect(verifySignature(Buffer.from('other'), sign(null, message, privateKey), publicKey)).toBe(false);
  });

  test.each([
    ['P-256', 'sha256', 64],
    ['P-384', 'sha384', 96],
    ['P-521', 'sha512', 132],
  ])(
    'ECDSA %s with %s: DER and IEEE P1363 signatures both verify; the other hash does not',
    (namedCurve, hash, p1363Length) => {
      const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve });
      const der = sign(hash, message, { key: privateKey, dsaEncoding: 'der' });
      const p1363 = sign(hash, message, { key: privateKey, dsaEncoding: 'ieee-p1363' });
      expect(der[0]).toBe(0x30);
      expect(p1363).toHaveLength(p1363Length);
      expect(verifySignature(message, der, publicKey)).toBe(true);
      expect(verifySignature(message, p1363, publicKey)).toBe(true);
      const otherHash = hash === 'sha256' ? 'sha512' : 'sha256';
      expect(
        verifySignature(message, sign(otherHash, message, { key: privateKey, dsaEncoding: 'der' }), publicKey),
      ).toBe(false);
      expect(verifySignature(message, Buffer.from([0x30, 0x02, 0x01]), publicKey)).toBe(false);
    },
  );

  test('RSA: PKCS #1 v1.5 and PSS (salt of hash length, as AWS KMS, or maximal, as moto) with SHA-256', () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pkcs1 = sign('sha256', message, { key: privateKey, padding: constants.RSA_PKCS1_PADDING });
    const pss32 = sign('sha256', message, {
      key: privateKey,
      padding: constants.RSA_PKCS1_PSS_PADDING,
      saltLength: 32,
    });
    const pssMax = sign('sha256', message, {
      key: privateKey,
      padding: constants.RSA_PKCS1_PSS_PADDING,
      saltLength: constants.RSA_PSS_SALTLEN_MAX_SIGN,
    });
    for (const sig of [pkcs1, pss32, pssMax]) expect(verifySignature(message, sig, publicKey)).toBe(true);
    expect(verifySignature(message, sign('sha1', message, privateKey), publicKey)).toBe(false);
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey;
    expect(verifySignature(message, pkcs1, other)).toBe(false);
  });

  test('keys that cannot verify reports say why', () => {
    expect(unsupportedKeyReason(generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).publicKey)).toBe(
      'an EC key on secp256k1',
    );
    expect(unsupportedKeyReason(generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey)).toBe(
      'a 1024-bit RSA key',
    );
    expect(unsupportedKeyReason(generateKeyPairSync('ed448').publicKey)).toBe('a ed448 key');
    const weak = generateKeyPairSync('rsa', { modulusLength: 1024 });
    expect(verifySignature(message, sign('sha256', message, weak.privateKey), weak.publicKey)).toBe(false);
  });
});

describe('Signer', () => {
  test('a local key file signs envelopes that verifyEnvelope accepts, under the same key id', async () => {
    const { privatePath, keyid } = generateKeyPair(join(dir, 'local'));
    const signer = await resolveSigner({
      flag: privatePath,
      env: undefined,
      defaultDir: join(dir, 'default'),
      log: () => {},
    });
    expect(signer).toMatchObject({ keyid, algorithm: 'ed25519' });
    expect(signer.source).toBe(privatePath);
    expect(Object.keys(signer)).not.toContain('source');
    const envelope = await signEnvelopeWith(Buffer.from('{"a":1}'), signer);
    expect(verifyEnvelope(envelope, signer.publicKey)).toMatchObject({ valid: true, keyid, statement: { a: 1 } });
    expect(toSigner(loadSigningKey(privatePath)).keyid).toBe(keyid);
    expect(toSigner(signer)).toBe(signer);
  });

  test('kms:// in RESTORE_DRILL_SIGNING_KEY is a KMS key: a bad reference fails before anything is signed', async () => {
    const error = (await resolveSigner({ env: 'kms://', defaultDir: join(dir, 'default'), log: () => {} }).catch(
      (e: unknown) => e,
    )) as Error;
    expect(error.message).toBe('"kms://" is not a KMS key reference');
  });
});
