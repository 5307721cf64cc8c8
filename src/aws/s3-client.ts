import type { S3Client, S3ClientConfig } from '@aws-sdk/client-s3';
import { s3Sdk } from './sdk.ts';
import { awsTimeouts, type AwsTimeouts } from './aws-timeouts.ts';
import { withFallbackRegion } from './region.ts';

/** How to reach S3 when no ready-made client is given. Everything else comes from the SDK's standard configuration. */
export interface S3ClientOptions {
  /** AWS region; default: the SDK's (AWS_REGION, the profile's config), else `us-east-1`. */
  readonly region?: string;
  /**
   * S3-compatible endpoint of this source alone (Google Cloud Storage's XML API
   * `https://storage.googleapis.com`, MinIO, Ceph, R2, moto); default: AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL, else AWS.
   */
  readonly endpoint?: string;
  /**
   * Credentials of this source alone (e.g. a Google Cloud HMAC key: `{ accessKeyId, secretAccessKey }`, or a
   * provider from `@aws-sdk/credential-providers`); default: the standard credential chain (or `profile`).
   */
  readonly credentials?: S3ClientConfig['credentials'];
  /** A named profile of ~/.aws/config and ~/.aws/credentials for this source alone. */
  readonly profile?: string;
  /** Path-style addressing (`host/bucket/key`); default: on with a custom endpoint, off on AWS. */
  readonly forcePathStyle?: boolean;
}

/** Env var: how long an S3 connection may stay silent before the call fails, as a duration (`90s`). */
export const S3_TIMEOUT_ENV = 'RESTORE_DRILL_S3_TIMEOUT';
/**
 * The S3 timeouts in milliseconds ({@link awsTimeouts}): from {@link S3_TIMEOUT_ENV}, else
 * `RESTORE_DRILL_AWS_TIMEOUT`, else 60 s. The SDK retries a timed-out call twice, so a stalled endpoint
 * fails a call after about three times `socketTimeout`.
 *
 * @example
 * s3Timeouts({ RESTORE_DRILL_S3_TIMEOUT: '5s' }); // { connectionTimeout: 5000, socketTimeout: 5000 }
 */
export function s3Timeouts(env: NodeJS.ProcessEnv = process.env): AwsTimeouts {
  return awsTimeouts(env, S3_TIMEOUT_ENV);
}

/**
 * An S3 client from the SDK's standard configuration: the default credential chain (env, profile, SSO,
 * instance/container role), the configured region, and the endpoint in AWS_ENDPOINT_URL_S3 or
 * AWS_ENDPOINT_URL (the SDK reads those itself), and timeouts ({@link s3Timeouts}). With a custom endpoint, path-style addressing is forced:
 * MinIO, Ceph and moto do not serve `bucket.host` virtual-host names. When no region is configured at
 * all, `us-east-1` is used, which works for custom endpoints and for AWS buckets in that region.
 * `endpoint`, `region`, `credentials`, `profile` and `forcePathStyle` apply to this client alone, so two
 * sources of one drill can read two clouds.
 *
 * @example
 * const s3 = await createS3Client({ endpoint: 'http://127.0.0.1:9000' });
 * await s3.config.forcePathStyle; // true
 */
export async function createS3Client(options: S3ClientOptions = {}): Promise<S3Client> {
  const { S3Client } = await s3Sdk();
  const forcePathStyle = options.forcePathStyle ?? customEndpoint(options) !== undefined;
  // Without timeouts an endpoint that accepts and never answers hangs the drill forever.
  const requestHandler = s3Timeouts();
  const make = (region?: string) =>
    new S3Client({
      requestHandler,
      ...(region ? { region } : {}),
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
      ...(forcePathStyle ? { forcePathStyle: true } : {}),
      // Per source, so one drill can read AWS and another cloud at once.
      ...(options.credentials ? { credentials: options.credentials } : {}),
      ...(options.profile ? { profile: options.profile } : {}),
    });
  return withFallbackRegion(make, options.region);
}

/**
 * The custom S3 endpoint in use, if any: the option, else the env vars the SDK honours.
 *
 * @example
 * customEndpoint(); // 'http://127.0.0.1:9000' when AWS_ENDPOINT_URL is set, else undefined
 */
export function customEndpoint(options: S3ClientOptions = {}): string | undefined {
  if (options.endpoint) return options.endpoint;
  if (process.env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS === 'true') return undefined;
  return process.env.AWS_ENDPOINT_URL_S3 || process.env.AWS_ENDPOINT_URL || undefined;
}
