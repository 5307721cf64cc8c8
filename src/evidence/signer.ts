import { sign } from 'node:crypto';
import { resolveSigningKey, type SigningKey } from './signing-key.ts';
import { KMS_PREFIX, type Signer } from './signer-interface.ts';

/**
 * A local Ed25519 key as a {@link Signer}.
 *
 * @example
 * const signer = localSigner(loadSigningKey('keys/signing-key.pem'));
 */
export function localSigner(key: SigningKey): Signer {
  const signer = {
    keyid: key.keyid,
    algorithm: 'ed25519' as const,
    publicKey: key.publicKey,
    demo: key.demo === true,
    sign: async (message: Buffer) => sign(null, message, key.privateKey),
  };
  return Object.defineProperty(signer, 'source', { value: key.source, enumerable: false }) as Signer;
}

/**
 * Accepts either a {@link Signer} or a loaded {@link SigningKey}, so callers that hold a key file keep working.
 *
 * @example
 * const envelope = await signEnvelopeWith(payload, toSigner(key));
 */
export function toSigner(key: Signer | SigningKey): Signer {
  return 'sign' in key && typeof key.sign === 'function' ? key : localSigner(key as SigningKey);
}

/**
 * Finds what a drill signs with: `--signing-key`, else `RESTORE_DRILL_SIGNING_KEY`, else the local demo key
 * (see `resolveSigningKey`; under CI that is a usage error instead). A value starting with `kms://` is an AWS KMS key: its public key is fetched
 * and one probe signature is made, so a wrong key id or a missing permission fails before any drill starts.
 *
 * @example
 * const signer = await resolveSigner({ flag: 'kms://alias/restore-drill', env: undefined,
 *   defaultDir: '.restore-drill/keys', log: console.error });
 */
export async function resolveSigner(options: Parameters<typeof resolveSigningKey>[0]): Promise<Signer> {
  const spec = options.flag || options.env?.trim();
  if (spec?.startsWith(KMS_PREFIX)) {
    // Loaded on demand: the AWS SDK costs start-up time that file keys should not pay.
    const { kmsSigner } = await import('./kms-signer.ts');
    return kmsSigner(spec);
  }
  return localSigner(resolveSigningKey(options));
}
