import { S3Client } from '@aws-sdk/client-s3';
import { parseDuration } from '../util/duration.ts';
import { withFallbackRegion } from './region.ts';

/** How to reach S3 when no ready-made client is given. Everything else comes from the SDK's standard configuration. */
export interface S3ClientOptions {
  /** AWS region; default: the SDK's (AWS_REGION, the profile's config), else `us-east-1`. */
  readonly region?: string;
  /** S3-compatible endpoint (MinIO, Ceph, moto); default: AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL, else AWS. */
  readonly endpoint?: string;
}

/** Env var: how long an S3 connection may stay silent before the call fails, as a duration (`90s`). */
export const S3_TIMEOUT_ENV = 'RESTORE_DRILL_S3_TIMEOUT';
/** Default of {@link S3_TIMEOUT_ENV}: long enough for a slow object store under load, short enough to fail a drill. */
const DEFAULT_TIMEOUT_SECONDS = 60;
/** Connecting takes milliseconds when the endpoint is there; waiting longer only delays the error. */
const MAX_CONNECT_SECONDS = 10;

/**
 * The S3 timeouts in milliseconds: connecting, and a silent connection (no byte either way — a stalled
 * endpoint; a long download that keeps moving is never cut). The SDK retries a timed-out call twice, so a
 * stalled endpoint fails a call after about three times `socketTimeout`.
 *
 * @example
 * s3Timeouts({ RESTORE_DRILL_S3_TIMEOUT: '5s' }); // { connectionTimeout: 5000, socketTimeout: 5000 }
 */
export function s3Timeouts(env: NodeJS.ProcessEnv = process.env): { connectionTimeout: number; socketTimeout: number } {
  const text = env[S3_TIMEOUT_ENV]?.trim();
  const seconds = text ? parseDuration(text, S3_TIMEOUT_ENV) : DEFAULT_TIMEOUT_SECONDS;
  const ms = Math.max(1, Math.round(seconds * 1000));
  return { connectionTimeout: Math.min(ms, MAX_CONNECT_SECONDS * 1000), socketTimeout: ms };
}

/**
 * An S3 client from the SDK's standard configuration: the default credential chain (env, profile, SSO,
 * instance/container role), the configured region, and the endpoint in AWS_ENDPOINT_URL_S3 or
 * AWS_ENDPOINT_URL (the SDK reads those itself), and timeouts ({@link s3Timeouts}). With a custom endpoint, path-style addressing is forced:
 * MinIO, Ceph and moto do not serve `bucket.host` virtual-host names. When no region is configured at
 * all, `us-east-1` is used, which works for custom endpoints and for AWS buckets in that region.
 *
 * @example
 * const s3 = await createS3Client({ endpoint: 'http://127.0.0.1:9000' });
 * await s3.config.forcePathStyle; // true
 */
export async function createS3Client(options: S3ClientOptions = {}): Promise<S3Client> {
  const forcePathStyle = customEndpoint(options) !== undefined;
  // Without timeouts an endpoint that accepts and never answers hangs the drill forever.
  const requestHandler = s3Timeouts();
  const make = (region?: string) =>
    new S3Client({
      requestHandler,
      ...(region ? { region } : {}),
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
      ...(forcePathStyle ? { forcePathStyle: true } : {}),
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
