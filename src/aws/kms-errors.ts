import { ConfigError, RestoreDrillError } from '../errors.ts';
import { networkCode } from '../util/network-code.ts';
import { redact } from '../util/redact.ts';

/** What to tell the user for a KMS failure, by what the key was wanted for (signing reports, decrypting a copy). */
export interface KmsErrorHints {
  /** For an unknown key: what a usable key reference looks like. */
  readonly key: string;
  /** For a denied call: which permissions the drill's identity needs. */
  readonly permission: string;
  /** For a key of the wrong kind: which kind to use. */
  readonly usage: string;
  /** The kind of key wanted, e.g. `a SIGN_VERIFY key`. */
  readonly usageName: string;
  /** What the key could not do in its current state, e.g. `sign`; default `sign`. */
  readonly purpose?: string;
}

const CREDENTIAL_ERRORS = new Set([
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'ExpiredTokenException',
  'InvalidClientTokenId',
  'IncompleteSignature',
]);

/**
 * Turns what the KMS client throws into one line with a hint: a {@link ConfigError} for what the user can
 * fix (unknown key, permission, credentials, key state, unreachable endpoint), a {@link RestoreDrillError}
 * for anything else. Messages are built here, never copied from the SDK, so no request detail or secret
 * reaches a log. An abort is returned unchanged.
 *
 * @example
 * await kms.send(new DescribeKeyCommand({ KeyId })).catch((error) => { throw explainKmsError(error, KeyId, 'kms:DescribeKey', hints); });
 */
export function explainKmsError(error: unknown, keyId: string, action: string, hints: KmsErrorHints): unknown {
  if (!(error instanceof Error) || error instanceof RestoreDrillError || error.name === 'AbortError') return error;
  const name = error.name;
  const key = `KMS key ${keyId}`;
  const endpoint = process.env.AWS_ENDPOINT_URL_KMS || process.env.AWS_ENDPOINT_URL;
  if (name === 'NotFoundException')
    return new ConfigError(
      `${key} not found (NotFoundException)`,
      `check the key id, alias or ARN and the region; ${hints.key}`,
    );
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  if (name === 'AccessDeniedException' || status === 403) {
    // A 403 whose body is not KMS's JSON (a proxy, moto's IAM check) surfaces as a parse error: name the status instead.
    return new ConfigError(
      `KMS denied ${action} on ${keyId} (${/Exception$/.test(name) ? name : 'HTTP 403'})`,
      hints.permission,
    );
  }
  if (CREDENTIAL_ERRORS.has(name))
    return new ConfigError(
      `KMS refused the AWS credentials (${name})`,
      'check AWS_PROFILE / AWS_ACCESS_KEY_ID (or the role); restore-drill uses the standard AWS credential chain',
    );
  if (name === 'CredentialsProviderError')
    return new ConfigError(
      `no AWS credentials found for ${key}`,
      'configure the standard AWS credential chain (env, profile, role)',
    );
  if (name === 'DisabledException')
    return new ConfigError(`${key} is disabled`, 'enable it in KMS, or use another key');
  if (name === 'KMSInvalidStateException')
    return new ConfigError(
      `${key} cannot ${hints.purpose ?? 'sign'} in its current state (pending deletion or import?)`,
      'cancel its deletion, or use another key',
    );
  if (name === 'InvalidKeyUsageException') return new ConfigError(`${key} is not ${hints.usageName}`, hints.usage);
  const code = networkCode(error);
  if (code || name === 'TimeoutError') {
    return new ConfigError(
      `cannot reach KMS${endpoint ? ` at ${redact(endpoint)}` : ''} for ${key}: ${code ?? 'timed out'}`,
      endpoint
        ? 'check AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_KMS and that the server is running'
        : 'check the network, proxy and DNS',
    );
  }
  return new RestoreDrillError(`KMS ${action} failed for ${key} (${name})`, hints.permission);
}
