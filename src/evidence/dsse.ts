import { sign, type KeyObject } from 'node:crypto';
import { fingerprint, type SigningKey } from './signing-key.ts';
import type { Signer } from './signer-interface.ts';
import { verifySignature } from './signer-algorithms.ts';

/** The DSSE payload type of every report: an in-toto Statement. */
export const PAYLOAD_TYPE = 'application/vnd.in-toto+json';

/** One signature in a DSSE envelope; `keyid` is a hint that says which key to verify with. */
export interface DsseSignature {
  readonly keyid: string;
  /** Base64 of the signature over {@link pae}(payloadType, payload): Ed25519, or ECDSA (DER) / RSA from a KMS key. */
  readonly sig: string;
}

/** A DSSE envelope as written to `*.report.json`. See https://github.com/secure-systems-lab/dsse. */
export interface DsseEnvelope {
  readonly payloadType: string;
  /** Base64 of the exact payload bytes that were signed. */
  readonly payload: string;
  readonly signatures: DsseSignature[];
}

/** The outcome of {@link verifyEnvelope}: the parsed payload, or why the envelope was rejected. */
export type EnvelopeVerification =
  | { readonly valid: true; readonly statement: unknown; readonly keyid: string }
  | { readonly valid: false; readonly reason: string };

/**
 * DSSE pre-authentication encoding: what is actually signed, so the payload type cannot be swapped.
 *
 * @example
 * pae('http://example.com/HelloWorld', Buffer.from('hello world')).toString();
 * // 'DSSEv1 29 http://example.com/HelloWorld 11 hello world'
 */
export function pae(payloadType: string, payload: Buffer): Buffer {
  const type = Buffer.from(payloadType, 'utf8');
  return Buffer.concat([
    Buffer.from(`DSSEv1 ${type.length} `, 'utf8'),
    type,
    Buffer.from(` ${payload.length} `, 'utf8'),
    payload,
  ]);
}

/**
 * Signs payload bytes (a serialised in-toto Statement) with Ed25519 into a DSSE envelope.
 *
 * @example
 * const envelope = signEnvelope(Buffer.from(canonicalJson), key);
 */
export function signEnvelope(payload: Buffer, key: SigningKey): DsseEnvelope {
  return envelopeOf(payload, key.keyid, sign(null, pae(PAYLOAD_TYPE, payload), key.privateKey));
}

/**
 * Signs payload bytes into a DSSE envelope with any {@link Signer}: a local Ed25519 key or an AWS KMS key.
 *
 * @example
 * const envelope = await signEnvelopeWith(serializeStatement(statement), await resolveSigner(options));
 */
export async function signEnvelopeWith(payload: Buffer, signer: Signer): Promise<DsseEnvelope> {
  return envelopeOf(payload, signer.keyid, await signer.sign(pae(PAYLOAD_TYPE, payload)));
}

function envelopeOf(payload: Buffer, keyid: string, sig: Buffer): DsseEnvelope {
  return {
    payloadType: PAYLOAD_TYPE,
    payload: payload.toString('base64'),
    signatures: [{ keyid, sig: sig.toString('base64') }],
  };
}

/**
 * Checks an envelope (already parsed from JSON) against a public key. Never throws: a bad envelope is a
 * result with a one-line reason, because an auditor's tool has to report on every file it is given.
 *
 * @example
 * const result = verifyEnvelope(JSON.parse(text), publicKey);
 * if (!result.valid) console.log(result.reason); // e.g. 'signature does not match'
 */
export function verifyEnvelope(envelope: unknown, publicKey: KeyObject): EnvelopeVerification {
  const invalid = (reason: string) => ({ valid: false, reason }) as const;
  if (typeof envelope !== 'object' || envelope === null || Array.isArray(envelope)) {
    return invalid('not a DSSE envelope: not a JSON object');
  }
  const { payloadType, payload, signatures } = envelope as Record<string, unknown>;
  if (typeof payloadType !== 'string') return invalid('not a DSSE envelope: missing payloadType');
  if (typeof payload !== 'string') return invalid('not a DSSE envelope: missing payload');
  if (!Array.isArray(signatures) || signatures.length === 0) {
    return invalid('not a DSSE envelope: missing signatures');
  }
  if (payloadType !== PAYLOAD_TYPE) {
    return invalid(`payloadType is "${payloadType}", expected ${PAYLOAD_TYPE}`);
  }
  const body = decodeBase64(payload);
  if (!body) return invalid('payload is not valid base64');

  const keyid = fingerprint(publicKey);
  // keyid is an unauthenticated hint (DSSE spec); an absent one may still be ours.
  const candidates = signatures.filter((s): s is Record<string, unknown> => {
    if (typeof s !== 'object' || s === null) return false;
    const hint = (s as Record<string, unknown>).keyid;
    return hint === keyid || hint === undefined || hint === '';
  });
  if (candidates.length === 0) return invalid(`no signature by key ${keyid}`);

  const message = pae(payloadType, body);
  for (const candidate of candidates) {
    const sig = typeof candidate.sig === 'string' ? decodeBase64(candidate.sig) : null;
    if (sig && verifySignature(message, sig, publicKey)) {
      try {
        return { valid: true, statement: JSON.parse(body.toString('utf8')), keyid };
      } catch {
        return invalid('payload is not JSON');
      }
    }
  }
  return invalid('signature does not match');
}

/**
 * Decodes base64 strictly. Node's decoder skips invalid characters and ignores trailing bits, so two
 * different strings can decode to the same bytes; requiring the canonical encoding makes any edit fail.
 */
function decodeBase64(text: string): Buffer | null {
  const bytes = Buffer.from(text, 'base64');
  const url = bytes.toString('base64url');
  const canonical = [bytes.toString('base64'), url, url.padEnd(Math.ceil(url.length / 4) * 4, '=')];
  return canonical.includes(text) ? bytes : null;
}
