import { randomBytes } from 'node:crypto';
import { secretsManagerSdk } from '../../aws/sdk.ts';
import { ConfigError, RestoreDrillError } from '../../errors.ts';
import { awsTimeouts } from '../../aws/aws-timeouts.ts';
import { regionOfArn } from '../../aws/rds-client.ts';
import { networkCode } from '../../util/network-code.ts';
import { registerSecret } from '../../util/redact.ts';

/**
 * How the drill logs in to the restored instance:
 * - omitted: restore-drill sets a fresh master password made for this run on the temporary instance
 *   (ModifyDBInstance, or ModifyDBCluster for Aurora) and logs in as the snapshot's master user — no
 *   production credentials needed;
 * - `{ username, password }`: given in the drill config (e.g. from an env var), as kept in the snapshot;
 * - `{ secretArn }`: read from Secrets Manager (JSON with `username` and `password`, as RDS-managed
 *   master secrets are).
 * Passwords are registered for redaction and never logged or reported.
 */
export type RdsCredentials = { readonly username: string; readonly password: string } | { readonly secretArn: string };

/** A username and password ready for `pg`. */
export interface ResolvedCredentials {
  readonly username: string;
  readonly password: string;
  /** For the report: `reset for this run`, `drill config` or `secret <arn>` (an ARN is not a secret). */
  readonly origin: string;
}

/**
 * A password for the temporary instance: 32 URL-safe characters, within RDS's rules (printable ASCII
 * without `/`, `"`, `@` and space).
 */
export function newMasterPassword(): string {
  const password = randomBytes(24).toString('base64url');
  registerSecret(password);
  return password;
}

/**
 * Credentials from the drill config or Secrets Manager (GetSecretValue in the secret's region). Every
 * password is registered with `registerSecret` before it can reach any message.
 *
 * @example
 * const { username, password } = await resolveCredentials({ secretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:shop-AbCdEf' }, 'eu-west-1');
 */
export async function resolveCredentials(
  credentials: RdsCredentials,
  region: string,
  signal?: AbortSignal,
): Promise<ResolvedCredentials> {
  const { GetSecretValueCommand, SecretsManagerClient } = await secretsManagerSdk();
  if ('password' in credentials) {
    registerSecret(credentials.password);
    if (!credentials.username || !credentials.password)
      throw new ConfigError(
        'rdsInstance credentials need both username and password',
        'or give { secretArn } to read them from Secrets Manager',
      );
    return { username: credentials.username, password: credentials.password, origin: 'drill config' };
  }
  const { secretArn } = credentials;
  const client = new SecretsManagerClient({ region: regionOfArn(secretArn, region), requestHandler: awsTimeouts() });
  let text: string | undefined;
  try {
    text = (await client.send(new GetSecretValueCommand({ SecretId: secretArn }), { abortSignal: signal }))
      .SecretString;
  } catch (error) {
    throw explainSecretError(error, secretArn);
  } finally {
    client.destroy();
  }
  registerSecret(text);
  let parsed: { username?: unknown; password?: unknown } | undefined;
  try {
    parsed = JSON.parse(text ?? '') as typeof parsed;
  } catch {
    // reported below without quoting the secret
  }
  if (typeof parsed?.username !== 'string' || typeof parsed.password !== 'string' || !parsed.password) {
    throw new ConfigError(
      `secret ${secretArn} holds no JSON with "username" and "password"`,
      'point secretArn at the RDS master user secret, or a secret in that format',
    );
  }
  registerSecret(parsed.password);
  return { username: parsed.username, password: parsed.password, origin: `secret ${secretArn}` };
}

function explainSecretError(error: unknown, secretArn: string): unknown {
  if (!(error instanceof Error) || error instanceof RestoreDrillError) return error;
  const name = error.name;
  if (
    name === 'AccessDeniedException' ||
    name === 'AccessDenied' ||
    (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 403
  ) {
    return new ConfigError(
      `AWS denied secretsmanager:GetSecretValue on ${secretArn} (${name})`,
      'grant secretsmanager:GetSecretValue on the secret (and kms:Decrypt on its key); see iam/restore-drill-policy.json',
    );
  }
  if (name === 'ResourceNotFoundException')
    return new ConfigError(`no such secret: ${secretArn}`, 'check the secret ARN and its region');
  const network = networkCode(error);
  if (network || name === 'TimeoutError')
    return new ConfigError(
      `cannot reach Secrets Manager for ${secretArn}: ${network ?? 'timed out'}`,
      'check the network, proxy and DNS (and AWS_ENDPOINT_URL when set)',
    );
  if (name === 'DecryptionFailure')
    return new ConfigError(
      `Secrets Manager cannot decrypt ${secretArn} for this drill (${name})`,
      "grant kms:Decrypt on the secret's KMS key",
    );
  return error;
}
