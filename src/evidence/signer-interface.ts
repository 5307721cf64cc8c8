import type { KeyObject } from 'node:crypto';
import type { SignatureAlgorithm } from './signer-algorithms.ts';

/**
 * What signs reports: a local Ed25519 key ({@link localSigner}) or a key that never leaves AWS KMS
 * (`kmsSigner` in kms-signer.ts). Verifiers need only {@link publicKey}.
 */
export interface Signer {
  /** `sha256:<hex of the SPKI DER public key>`, written into every signature. */
  readonly keyid: string;
  readonly algorithm: SignatureAlgorithm;
  readonly publicKey: KeyObject;
  /** True for a local demo key: its reports are marked "demo key — not evidence" (never true for KMS keys). */
  readonly demo?: boolean;
  /**
   * What it was resolved from (a PEM path, PEM content or `kms://…`), so `restore-drill run` can hand the
   * same key to its worker processes (as a value, through Vitest's `provide`). May be key material: never
   * log it. Not enumerable.
   */
  readonly source: string;
  /** Signs the message (a DSSE PAE) and returns the raw signature bytes. */
  sign(message: Buffer): Promise<Buffer>;
}

/** The prefix of a signing key that lives in AWS KMS: `kms://<key id | alias/name | key or alias ARN>`. */
export const KMS_PREFIX = 'kms://';
