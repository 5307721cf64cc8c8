import { parseDuration } from '../util/duration.ts';

/** Env var: how long an RDS, KMS or Secrets Manager connection may stay silent before the call fails (`90s`). */
export const AWS_TIMEOUT_ENV = 'RESTORE_DRILL_AWS_TIMEOUT';
/** Default silence limit: long enough for a slow endpoint under load, short enough to fail a drill. */
const DEFAULT_TIMEOUT_SECONDS = 60;
/** Connecting takes milliseconds when the endpoint is there; waiting longer only delays the error. */
const MAX_CONNECT_SECONDS = 10;

/** What the AWS SDK's Node HTTP handler takes as `requestHandler`: timeouts in milliseconds. */
export interface AwsTimeouts {
  readonly connectionTimeout: number;
  readonly socketTimeout: number;
}

/**
 * The timeouts every AWS client of restore-drill is made with (S3, RDS, KMS, Secrets Manager): connecting,
 * and a silent connection (no byte either way — an endpoint that accepts and never answers; a long
 * download that keeps moving is never cut). The duration comes from `variable` when set, else
 * {@link AWS_TIMEOUT_ENV}, else 60 s; connecting gets at most 10 s of it. The SDK retries a timed-out
 * call like any transient error, so a stalled endpoint fails a call after about (attempts × timeout).
 * Without these an endpoint that accepts and stays silent hangs a drill forever.
 *
 * @example
 * awsTimeouts({ RESTORE_DRILL_AWS_TIMEOUT: '5s' }); // { connectionTimeout: 5000, socketTimeout: 5000 }
 */
export function awsTimeouts(env: NodeJS.ProcessEnv = process.env, variable: string = AWS_TIMEOUT_ENV): AwsTimeouts {
  const name = env[variable]?.trim() ? variable : AWS_TIMEOUT_ENV;
  const text = env[name]?.trim();
  const seconds = text ? parseDuration(text, name) : DEFAULT_TIMEOUT_SECONDS;
  const ms = Math.max(1, Math.round(seconds * 1000));
  return { connectionTimeout: Math.min(ms, MAX_CONNECT_SECONDS * 1000), socketTimeout: ms };
}
