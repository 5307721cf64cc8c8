import { constants, verify, type KeyObject } from 'node:crypto';

/**
 * How a report signature is made. A verifier needs only the public key: its type (and curve) names
 * the algorithm, so the envelope carries no algorithm field of its own (as in DSSE).
 */
export type SignatureAlgorithm =
  | 'ed25519'
  | 'ecdsa-p256-sha256'
  | 'ecdsa-p384-sha384'
  | 'ecdsa-p521-sha512'
  | 'rsa-pss-sha256'
  | 'rsa-pkcs1v15-sha256';

/** ECDSA curves a report may be signed on, with the hash that goes with each (as AWS KMS and sigstore pair them). */
const CURVES: Record<string, { readonly hash: string; readonly bytes: number; readonly name: string }> = {
  prime256v1: { hash: 'sha256', bytes: 32, name: 'P-256' },
  secp384r1: { hash: 'sha384', bytes: 48, name: 'P-384' },
  secp521r1: { hash: 'sha512', bytes: 66, name: 'P-521' },
};

/** The smallest RSA modulus accepted, in bits. */
export const MIN_RSA_BITS = 2048;

/**
 * Why a public key cannot verify reports, or null when it can: Ed25519, ECDSA on P-256/P-384/P-521,
 * or RSA of at least 2048 bits.
 *
 * @example
 * unsupportedKeyReason(createPublicKey(pem)); // null, or e.g. 'an EC key on secp256k1'
 */
export function unsupportedKeyReason(publicKey: KeyObject): string | null {
  const type = publicKey.asymmetricKeyType;
  if (type === 'ed25519') return null;
  if (type === 'ec') {
    const curve = publicKey.asymmetricKeyDetails?.namedCurve ?? 'unknown';
    return curve in CURVES ? null : `an EC key on ${curve}`;
  }
  if (type === 'rsa') {
    const bits = publicKey.asymmetricKeyDetails?.modulusLength ?? 0;
    return bits >= MIN_RSA_BITS ? null : `a ${bits}-bit RSA key`;
  }
  return `a ${type ?? 'unknown'} key`;
}

/** What reports can be signed with, for messages. */
export const SUPPORTED_KEYS = `Ed25519, ECDSA P-256/P-384/P-521 or RSA ≥ ${MIN_RSA_BITS} bits`;

/**
 * Checks a signature over `message` with a public key, choosing the algorithm from the key:
 * - Ed25519: pure Ed25519 (RFC 8032) over the message;
 * - ECDSA: SHA-256 on P-256, SHA-384 on P-384, SHA-512 on P-521; the signature may be ASN.1 DER
 *   (`Ecdsa-Sig-Value`, what AWS KMS and OpenSSL produce and what restore-drill writes) or IEEE P1363
 *   (`r‖s`, fixed length 2 × the curve size, what WebCrypto produces) — the length tells them apart;
 * - RSA: SHA-256 with PKCS #1 v1.5 padding, or with PSS (MGF1-SHA-256, any salt length; AWS KMS uses 32).
 * Never throws: a malformed signature or an unsupported key is simply not valid.
 *
 * @example
 * verifySignature(pae(PAYLOAD_TYPE, payload), sig, publicKey); // true or false
 */
export function verifySignature(message: Buffer, signature: Buffer, publicKey: KeyObject): boolean {
  try {
    if (unsupportedKeyReason(publicKey)) return false;
    switch (publicKey.asymmetricKeyType) {
      case 'ed25519':
        return verify(null, message, publicKey, signature);
      case 'ec': {
        const curve = CURVES[publicKey.asymmetricKeyDetails!.namedCurve!]!;
        const dsaEncoding = signature.length === 2 * curve.bytes ? 'ieee-p1363' : 'der';
        return verify(curve.hash, message, { key: publicKey, dsaEncoding }, signature);
      }
      case 'rsa':
        return (
          verify('sha256', message, { key: publicKey, padding: constants.RSA_PKCS1_PADDING }, signature) ||
          verify(
            'sha256',
            message,
            { key: publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_AUTO },
            signature,
          )
        );
      default:
        return false;
    }
  } catch {
    // Malformed DER, a wrong length: not a valid signature.
    return false;
  }
}
