import type { RDSClient } from '@aws-sdk/client-rds';
import { rdsSdk } from './sdk.ts';
import { ConfigError } from '../errors.ts';
import { awsTimeouts } from './aws-timeouts.ts';
import { withFallbackRegion } from './region.ts';

/** How to reach RDS when no ready-made client is given. Everything else comes from the SDK's standard configuration. */
export interface RdsClientOptions {
  /** AWS region; default: the SDK's (AWS_REGION, the profile's config), else `us-east-1`. */
  readonly region?: string;
  /** RDS-compatible endpoint (moto in tests); default: AWS_ENDPOINT_URL_RDS / AWS_ENDPOINT_URL, else AWS. */
  readonly endpoint?: string;
  /** Attempts per call, throttling included; default {@link RDS_MAX_ATTEMPTS}. */
  readonly maxAttempts?: number;
}

/**
 * Attempts per RDS call. RDS throttles per account and region, shared with every other tool there; the
 * SDK's standard retry mode backs off exponentially with jitter (longer for throttling errors), and 8
 * attempts ride out a burst of about half a minute before a drill gives up.
 */
export const RDS_MAX_ATTEMPTS = 8;

/**
 * An RDS client from the SDK's standard configuration (credential chain, region, endpoint env vars) with
 * the standard retry mode and {@link RDS_MAX_ATTEMPTS} attempts, so throttling is retried with backoff, and
 * the timeouts of {@link awsTimeouts} (`RESTORE_DRILL_AWS_TIMEOUT`), so an endpoint that accepts and stays
 * silent ends the call. Calls made with `sendRds(…, signal)` also end when the drill is interrupted.
 *
 * @example
 * const rds = await createRdsClient({ region: 'eu-central-1' });
 */
export async function createRdsClient(options: RdsClientOptions = {}): Promise<RDSClient> {
  const { RDSClient } = await rdsSdk();
  const requestHandler = awsTimeouts();
  const make = (region?: string) =>
    new RDSClient({
      requestHandler,
      ...(region ? { region } : {}),
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
      retryMode: 'standard',
      maxAttempts: options.maxAttempts ?? RDS_MAX_ATTEMPTS,
    });
  return withFallbackRegion(make, options.region);
}

/** The parts of an ARN that drills care about. */
export interface ParsedArn {
  readonly partition: string;
  readonly service: string;
  readonly region: string;
  readonly account: string;
  /** e.g. `snapshot`, `cluster-snapshot`, `db`, `cluster`. */
  readonly resourceType: string;
  readonly name: string;
}

/**
 * Splits an RDS-style ARN (`arn:aws:rds:eu-west-1:123456789012:snapshot:rds:shop-2026-11-23-03-10`);
 * returns null for anything else. Automated snapshot names contain a colon, so the name is everything after
 * the resource type.
 *
 * @example
 * parseArn('arn:aws:rds:eu-west-1:123456789012:snapshot:shop-1')?.region; // 'eu-west-1'
 */
export function parseArn(arn: string | undefined): ParsedArn | null {
  const match = /^arn:([^:]+):([^:]+):([^:]*):([^:]*):([^:/]+)[:/](.+)$/.exec(arn ?? '');
  if (!match) return null;
  const [, partition, service, region, account, resourceType, name] = match;
  return {
    partition: partition!,
    service: service!,
    region: region!,
    account: account!,
    resourceType: resourceType!,
    name: name!,
  };
}

/** The region of a secret or snapshot ARN, else `fallback`. */
export function regionOfArn(arn: string, fallback: string): string {
  return parseArn(arn)?.region || fallback;
}

/** Refuses a ready-made client that sends to another region than the recovery point lives in. */
export async function requireRegion(client: RDSClient, region: string, what: string): Promise<void> {
  const actual = await client.config.region();
  if (actual !== region) {
    throw new ConfigError(
      `${what} is in region ${region}, but the RDS client given sends to ${actual}`,
      `create the client with region: '${region}', or leave \`client\` out`,
    );
  }
}
