import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { PAYLOAD_TYPE, pae, signEnvelope, verifyEnvelope, type DsseEnvelope } from './dsse.ts';
import { fingerprint, type SigningKey } from './signing-key.ts';

function newKey(): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { privateKey, publicKey, keyid: fingerprint(publicKey), source: 'generated in memory' };
}

const statement = { _type: 'https://in-toto.io/Statement/v1', predicate: { status: 'passed', note: 'ünïcode ✓' } };
const payload = Buffer.from(JSON.stringify(statement), 'utf8');

/** Replaces the character at `index` with a different base64 character. */
function flipChar(text: string, index: number): string {
  const replacement = text[index] === 'A' ? 'B' : 'A';
  return text.slice(0, index) + replacement + text.slice(index + 1);
}

describe('pae', () => {
  it('matches the DSSE specification test vector', () => {
    expect(pae('http://example.com/HelloWorld', Buffer.from('hello world')).toString('utf8')).toBe(
      'DSSEv1 29 http://example.com/HelloWorld 11 hello world',
    );
  });

  it('counts bytes, not characters', () => {
    expect(pae('t', Buffer.from('é', 'utf8')).toString('utf8')).toBe('DSSEv1 1 t 2 é');
  });
});

describe('signEnvelope / verifyEnvelope', () => {
  const key = newKey();
  const envelope = signEnvelope(payload, key);

  it('round-trips: the verified statement is the signed payload', () => {
    expect(envelope.payloadType).toBe(PAYLOAD_TYPE);
    expect(envelope.signatures).toEqual([{ keyid: key.keyid, sig: expect.any(String) }]);
    expect(verifyEnvelope(envelope, key.publicKey)).toEqual({ valid: true, statement, keyid: key.keyid });
  });

  it('survives a JSON round-trip of the envelope', () => {
    const parsed: unknown = JSON.parse(JSON.stringify(envelope, null, 2));
    expect(verifyEnvelope(parsed, key.publicKey).valid).toBe(true);
  });

  it('rejects any changed character of the base64 payload or signature', () => {
    const sig = envelope.signatures[0]!.sig;
    for (const field of ['payload', 'sig'] as const) {
      const text = field === 'payload' ? envelope.payload : sig;
      const positions = [0, 1, 7, Math.floor(text.length / 2), text.length - 3, text.length - 2, text.length - 1];
      for (const position of positions) {
        const tampered: DsseEnvelope =
          field === 'payload'
            ? { ...envelope, payload: flipChar(text, position) }
            : { ...envelope, signatures: [{ keyid: key.keyid, sig: flipChar(text, position) }] };
        const result = verifyEnvelope(tampered, key.publicKey);
        expect(result.valid, `${field} position ${position}`).toBe(false);
      }
    }
  });

  it('rejects any flipped bit in the decoded payload or signature bytes', () => {
    const sigBytes = Buffer.from(envelope.signatures[0]!.sig, 'base64');
    for (const position of [0, 10, payload.length - 1]) {
      const body = Buffer.from(payload);
      body[position] = body[position]! ^ 0x01;
      const result = verifyEnvelope({ ...envelope, payload: body.toString('base64') }, key.publicKey);
      expect(result).toEqual({ valid: false, reason: 'signature does not match' });
    }
    for (const position of [0, 31, 63]) {
      const sig = Buffer.from(sigBytes);
      sig[position] = sig[position]! ^ 0x80;
      const tampered = { ...envelope, signatures: [{ keyid: key.keyid, sig: sig.toString('base64') }] };
      expect(verifyEnvelope(tampered, key.publicKey)).toEqual({ valid: false, reason: 'signature does not match' });
    }
  });

  it('rejects a signature made with another key', () => {
    const other = newKey();
    expect(verifyEnvelope(envelope, other.publicKey)).toEqual({
      valid: false,
      reason: `no signature by key ${other.keyid}`,
    });
    const relabelled = { ...envelope, signatures: [{ keyid: other.keyid, sig: envelope.signatures[0]!.sig }] };
    expect(verifyEnvelope(relabelled, other.publicKey)).toEqual({ valid: false, reason: 'signature does not match' });
  });

  it('binds the payload type: a signature cannot be reused under another type', () => {
    const retyped = { ...envelope, payloadType: 'application/json' };
    expect(verifyEnvelope(retyped, key.publicKey)).toEqual({
      valid: false,
      reason: `payloadType is "application/json", expected ${PAYLOAD_TYPE}`,
    });
  });

  it('returns a reason instead of throwing for things that are not envelopes', () => {
    const cases: Array<[unknown, string]> = [
      [null, 'not a DSSE envelope: not a JSON object'],
      [[envelope], 'not a DSSE envelope: not a JSON object'],
      [{ payloadType: PAYLOAD_TYPE, signatures: envelope.signatures }, 'not a DSSE envelope: missing payload'],
      [{ payload: envelope.payload, signatures: envelope.signatures }, 'not a DSSE envelope: missing payloadType'],
      [{ ...envelope, signatures: [] }, 'not a DSSE envelope: missing signatures'],
      [{ ...envelope, payload: 'not base64!' }, 'payload is not valid base64'],
      [{ ...envelope, signatures: [{ keyid: key.keyid, sig: 42 }] }, 'signature does not match'],
    ];
    for (const [value, reason] of cases) {
      expect(verifyEnvelope(value, key.publicKey)).toEqual({ valid: false, reason });
    }
  });

  it('says when a correctly signed payload is not JSON', () => {
    const signed = signEnvelope(Buffer.from('plain text'), key);
    expect(verifyEnvelope(signed, key.publicKey)).toEqual({ valid: false, reason: 'payload is not JSON' });
  });

  it('does not throw when given a public key of another type', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey;
    const unlabelled = { ...envelope, signatures: [{ sig: envelope.signatures[0]!.sig }] };
    expect(verifyEnvelope(unlabelled, rsa)).toEqual({ valid: false, reason: 'signature does not match' });
  });
});
