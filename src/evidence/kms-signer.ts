import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { KMSClient, SigningAlgorithmSpec } from '@aws-sdk/client-kms';
import { kmsSdk } from '../aws/sdk.ts';
import { createKmsClient, parseKmsKeyRef, type KmsKeyRef } from '../aws/kms-client.ts';
import { explainKmsError, type KmsErrorHints } from '../aws/kms-errors.ts';
import { ConfigError, RestoreDrillError } from '../errors.ts';
import { fingerprint, PUBLIC_KEY_FILE } from './signing-key.ts';
import { KMS_PREFIX, type Signer } from './signer-interface.ts';
import { verifySignature, type SignatureAlgorithm } from './signer-algorithms.ts';

/** KMS signs a message of at most this many bytes as it is (`MessageType: RAW`); longer ones as a digest. */
export const KMS_RAW_MESSAGE_LIMIT = 4096;

/** The KMS key specs restore-drill signs with, and how. */
type KeySpecUse = {
  readonly algorithm: SignatureAlgorithm;
  readonly kms: SigningAlgorithmSpec[];
  readonly hash: string;
};
// RSA: PSS when the key offers it (it always does in AWS), else PKCS #1 v1.5; both with SHA-256.
const RSA: KeySpecUse = {
  algorithm: 'rsa-pss-sha256',
  kms: ['RSASSA_PSS_SHA_256', 'RSASSA_PKCS1_V1_5_SHA_256'],
  hash: 'sha256',
};
const KEY_SPECS: Record<string, KeySpecUse> = {
  ECC_NIST_P256: { algorithm: 'ecdsa-p256-sha256', kms: ['ECDSA_SHA_256'], hash: 'sha256' },
  ECC_NIST_P384: { algorithm: 'ecdsa-p384-sha384', kms: ['ECDSA_SHA_384'], hash: 'sha384' },
  ECC_NIST_P521: { algorithm: 'ecdsa-p521-sha512', kms: ['ECDSA_SHA_512'], hash: 'sha512' },
  RSA_2048: RSA,
  RSA_3072: RSA,
  RSA_4096: RSA,
};
const SUPPORTED_SPECS = 'ECC_NIST_P256 (recommended), ECC_NIST_P384, ECC_NIST_P521 or RSA_2048/3072/4096';
const KMS_HINT = 'pass --signing-key kms://<key id | alias/name | ARN> of an asymmetric SIGN_VERIFY key';
const PERMISSION_HINT = 'the AWS identity in use needs kms:GetPublicKey and kms:Sign on the key';
const SIGNING_HINTS: KmsErrorHints = {
  key: KMS_HINT,
  permission: PERMISSION_HINT,
  usage: `use a key of spec ${SUPPORTED_SPECS}`,
  usageName: 'a SIGN_VERIFY key',
};

/** A KMS key's public half, as `restore-drill keygen --kms` exports it for verifiers. */
export interface KmsPublicKey {
  readonly ref: KmsKeyRef;
  readonly publicKey: KeyObject;
  readonly keyid: string;
  /** The key's ARN, as KMS reports it. */
  readonly arn: string;
  readonly keySpec: string;
  readonly algorithm: SignatureAlgorithm;
  /** The KMS signing algorithm restore-drill uses with this key. */
  readonly kmsAlgorithm: SigningAlgorithmSpec;
}

/**
 * Fetches a KMS key's public key (GetPublicKey) and checks that restore-drill can sign with it.
 * Throws a one-line `ConfigError` for an unknown key, missing permission, wrong key type or no region.
 *
 * @example
 * const { publicKey, keyid } = await fetchKmsPublicKey('kms://alias/restore-drill');
 */
export async function fetchKmsPublicKey(spec: string, client?: KMSClient): Promise<KmsPublicKey> {
  const { GetPublicKeyCommand } = await kmsSdk();
  const ref = parseKmsKeyRef(spec);
  const kms = client ?? (await createKmsClient(ref));
  const answer = await kms.send(new GetPublicKeyCommand({ KeyId: ref.keyId })).catch((error: unknown) => {
    throw explainKmsError(error, ref.keyId, 'kms:GetPublicKey', SIGNING_HINTS);
  });
  // CustomerMasterKeySpec is the deprecated name of KeySpec; AWS sends both, moto only the old one.
  const keySpec = answer.KeySpec ?? answer.CustomerMasterKeySpec ?? 'unknown';
  if (answer.KeyUsage !== 'SIGN_VERIFY') {
    throw new ConfigError(
      `KMS key ${ref.keyId} is a ${answer.KeyUsage ?? 'non-signing'} key, not SIGN_VERIFY`,
      `create an asymmetric SIGN_VERIFY key: ${SUPPORTED_SPECS}`,
    );
  }
  const known = KEY_SPECS[keySpec];
  if (!known || !answer.PublicKey) {
    const why =
      keySpec === 'ECC_NIST_EDWARDS25519'
        ? ' (KMS signs at most 4 KB as pure Ed25519, and Ed25519ph is not a standard Ed25519 signature)'
        : '';
    throw new ConfigError(
      `KMS key ${ref.keyId} is ${keySpec}, which restore-drill does not sign with${why}`,
      `use a key of spec ${SUPPORTED_SPECS}`,
    );
  }
  const kmsAlgorithm = known.kms.find((a) => answer.SigningAlgorithms?.includes(a)) ?? known.kms[0]!;
  const publicKey = createPublicKey({ key: Buffer.from(answer.PublicKey), format: 'der', type: 'spki' });
  return {
    ref,
    publicKey,
    keyid: fingerprint(publicKey),
    arn: answer.KeyId ?? ref.keyId,
    keySpec,
    algorithm: kmsAlgorithm === 'RSASSA_PKCS1_V1_5_SHA_256' ? 'rsa-pkcs1v15-sha256' : known.algorithm,
    kmsAlgorithm,
  };
}

/**
 * A {@link Signer} whose private key never leaves AWS KMS. Messages of up to 4096 bytes are sent as they
 * are (`MessageType: RAW`, KMS hashes them); longer ones as their hash (`MessageType: DIGEST`), which is
 * the same signature. Every signature KMS returns is checked against the public key before it is used,
 * so a misbehaving endpoint can never produce an unverifiable report. One probe signature is made up
 * front: a missing `kms:Sign` permission fails here, not after a drill of several hours.
 *
 * @example
 * const signer = await kmsSigner('kms://alias/restore-drill');
 * await writeReport({ report, reportDir: 'reports', key: signer });
 */
export async function kmsSigner(spec: string, options: { client?: KMSClient } = {}): Promise<Signer> {
  const ref = parseKmsKeyRef(spec);
  const kms = options.client ?? (await createKmsClient(ref));
  const key = await fetchKmsPublicKey(spec, kms);
  const hash = KEY_SPECS[key.keySpec]!.hash;
  const signer = {
    keyid: key.keyid,
    algorithm: key.algorithm,
    publicKey: key.publicKey,
    async sign(message: Buffer): Promise<Buffer> {
      const { SignCommand } = await kmsSdk();
      const raw = message.length <= KMS_RAW_MESSAGE_LIMIT;
      const answer = await kms
        .send(
          new SignCommand({
            KeyId: ref.keyId,
            SigningAlgorithm: key.kmsAlgorithm,
            MessageType: raw ? 'RAW' : 'DIGEST',
            Message: raw ? message : createHash(hash).update(message).digest(),
          }),
        )
        .catch((error: unknown) => {
          throw explainKmsError(error, ref.keyId, 'kms:Sign', SIGNING_HINTS);
        });
      const signature = Buffer.from(answer.Signature ?? []);
      if (!verifySignature(message, signature, key.publicKey)) {
        throw new RestoreDrillError(
          `KMS key ${ref.keyId} returned a ${raw ? 'RAW' : 'DIGEST'} signature that does not verify against its public key ${key.keyid}`,
          raw
            ? 'check that the key was not rotated or replaced during the run'
            : 'the KMS endpoint does not implement MessageType DIGEST correctly (moto does not: getmoto/moto#10202); use AWS KMS',
        );
      }
      return signature;
    },
  };
  Object.defineProperty(signer, 'source', { value: `${KMS_PREFIX}${ref.keyId}`, enumerable: false });
  await signer.sign(Buffer.from('restore-drill: can this key sign?'));
  return signer as Signer;
}

/**
 * Writes a KMS key's public key as `<outDir>/signing-key.pub.pem` (SPKI PEM), for `restore-drill verify --key`.
 * An existing file is left alone when it holds the same key and refused when it holds another.
 *
 * @example
 * const { publicPath, keyid } = await exportKmsPublicKey('kms://alias/restore-drill', 'keys');
 */
export async function exportKmsPublicKey(spec: string, outDir: string): Promise<{ publicPath: string } & KmsPublicKey> {
  const key = await fetchKmsPublicKey(spec);
  const publicPath = join(outDir, PUBLIC_KEY_FILE);
  const pem = key.publicKey.export({ type: 'spki', format: 'pem' }) as string;
  const existing = await readFile(publicPath, 'utf8').catch(() => null);
  if (existing !== null && existing !== pem) {
    throw new ConfigError(
      `${publicPath} already holds another public key`,
      'choose another --out directory; reports signed with that key still need it',
    );
  }
  try {
    await mkdir(outDir, { recursive: true });
    if (existing === null) await writeFile(publicPath, pem, { mode: 0o644 });
  } catch (error) {
    throw new ConfigError(
      `cannot write ${publicPath}: ${(error as { code?: string }).code ?? (error as Error).message}`,
      'choose another --out directory',
    );
  }
  return { ...key, publicPath };
}
