import { ConfigError } from '../errors.ts';
import { networkCode } from '../util/network-code.ts';
import { redact } from '../util/redact.ts';

/** Where an S3 call went, for error messages. Holds no credentials. */
export interface S3ErrorContext {
  /** The `s3://` URI that was being read or written. */
  readonly uri: string;
  readonly bucket: string;
  /** The custom endpoint, when one is used. */
  readonly endpoint?: string;
  readonly region?: string;
}

const CREDENTIAL_ERRORS = new Set([
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'InvalidToken',
  'ExpiredToken',
  'TokenRefreshRequired',
  'InvalidClientTokenId',
  'UnrecognizedClientException',
]);
const ACCESS_ERRORS = new Set(['AccessDenied', 'Forbidden', 'AllAccessDisabled', 'AccountProblem']);
const REGION_ERRORS = new Set([
  'PermanentRedirect',
  'AuthorizationHeaderMalformed',
  'IllegalLocationConstraintException',
]);
const CREDENTIAL_HINT =
  'check AWS_PROFILE / AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (or the instance role); restore-drill uses the standard AWS credential chain';

/**
 * Turns what the AWS SDK throws into a one-line {@link ConfigError} with a hint, for the failures a user
 * can fix (bucket name, credentials, permissions, region, endpoint). Anything else is returned unchanged.
 * Messages are built here, never copied from the SDK, so no request detail or secret leaks into them.
 *
 * @example
 * try { await s3.send(command); } catch (error) { throw explainS3Error(error, { uri, bucket }); }
 */
export function explainS3Error(error: unknown, where: S3ErrorContext): unknown {
  if (!(error instanceof Error) || error instanceof ConfigError) return error;
  const name = error.name;
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  const code = networkCode(error);
  const { uri, bucket } = where;
  const target = where.endpoint ? `S3 at ${redact(where.endpoint)}` : 'S3';

  if (name === 'AbortError') return error;
  if (name === 'NoSuchBucket') {
    return new ConfigError(
      `no such S3 bucket: ${bucket}`,
      'check the bucket name in the s3:// URI, and AWS_REGION / AWS_ENDPOINT_URL',
    );
  }
  if (name === 'NoSuchKey' || name === 'NotFound' || (status === 404 && name !== 'NoSuchBucket')) {
    return new ConfigError(
      `no such S3 object: ${uri}`,
      'check the key in the s3:// URI; end it with / to pick the latest dump under a prefix',
    );
  }
  if (CREDENTIAL_ERRORS.has(name)) {
    return new ConfigError(`${target} refused the credentials (${name}) for ${uri}`, CREDENTIAL_HINT);
  }
  if (name === 'CredentialsProviderError') {
    return new ConfigError(`no AWS credentials found for ${uri}`, CREDENTIAL_HINT);
  }
  if (ACCESS_ERRORS.has(name) || status === 403) {
    return new ConfigError(
      `${target} denied access to ${uri} (${name})`,
      'the credentials in use need s3:ListBucket on the bucket and s3:GetObject (and kms:Decrypt for SSE-KMS) on the dumps',
    );
  }
  if (REGION_ERRORS.has(name) || status === 301) {
    return new ConfigError(
      `S3 bucket ${bucket} is not in region ${where.region ?? '(unknown)'} (${name})`,
      "set AWS_REGION to the bucket's region",
    );
  }
  if (name === 'InvalidObjectState') {
    return new ConfigError(
      `${uri} is archived (e.g. GLACIER) and cannot be read`,
      'restore the object from its archive storage class before the drill',
    );
  }
  if (/region is missing/i.test(error.message)) {
    return new ConfigError(`no AWS region configured for ${uri}`, 'set AWS_REGION (or region in the AWS profile)');
  }
  if (code || name === 'TimeoutError') {
    return new ConfigError(
      `cannot reach ${target} for ${uri}: ${code ?? 'timed out'}`,
      where.endpoint
        ? 'check AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_S3 and that the server is running'
        : 'check the network, proxy and DNS',
    );
  }
  return error;
}
