import type {
  $Command,
  RDSClient,
  RDSClientResolvedConfig,
  ServiceInputTypes,
  ServiceOutputTypes,
} from '@aws-sdk/client-rds';
import { ConfigError, RestoreDrillError } from '../errors.ts';
import { networkCode } from '../util/network-code.ts';
import { redact } from '../util/redact.ts';

/** RDS has no such snapshot, instance or cluster: a ConfigError that teardown and cleanup may treat as "already gone". */
export class RdsNotFoundError extends ConfigError {}

/** A listing found no available snapshot: nothing to restore, but for an offsite-copy check simply "no copy". */
export class NoSnapshotsError extends ConfigError {}

/** What an RDS call was doing, for error messages. Holds no credentials. */
export interface RdsErrorContext {
  /** The IAM action without prefix, e.g. `RestoreDBInstanceFromDBSnapshot`. */
  readonly action: string;
  /** What it was about: a snapshot, an instance identifier, `snapshots of db-instance shop`. */
  readonly resource: string;
  readonly region?: string;
  /** The KMS key the resource is encrypted with, so a refusal to use it names the key. */
  readonly kmsKeyId?: string | null;
  /** The key's state when the drill's key-access check described it. */
  readonly kmsKeyState?: string;
}

/** What a call is about, for {@link sendRds}: a resource's name, or the name with its KMS key. */
export type RdsResource = string | Pick<RdsErrorContext, 'resource' | 'kmsKeyId' | 'kmsKeyState'>;

const CREDENTIAL_ERRORS = new Set([
  'InvalidClientTokenId',
  'SignatureDoesNotMatch',
  'InvalidToken',
  'ExpiredToken',
  'UnrecognizedClient',
  'IncompleteSignature',
  'AuthFailure',
]);
const ACCESS_ERRORS = new Set(['AccessDenied', 'UnauthorizedOperation', 'NotAuthorized', 'KMSKeyNotAccessible']);
const THROTTLING_ERRORS = new Set(['Throttling', 'TooManyRequests', 'RequestLimitExceeded']);
/** RDS answers whose own message says exactly what to change (a class, a group, a quota). */
const SETTING_ERRORS = new Set([
  'InvalidParameterValue',
  'InvalidParameterCombination',
  'DBSubnetGroupNotFound',
  'DBParameterGroupNotFound',
  'DBClusterParameterGroupNotFound',
  'OptionGroupNotFound',
  'InvalidVPCNetworkState',
  'InvalidSubnet',
  'InsufficientDBInstanceCapacity',
  'InsufficientDBClusterCapacity',
  'InstanceQuotaExceeded',
  'StorageQuotaExceeded',
  'DBClusterQuotaExceeded',
  'InvalidDBSnapshotState',
  'InvalidDBClusterSnapshotState',
  'InvalidRestore',
  'DBInstanceAlreadyExists',
  'DBClusterAlreadyExists',
  'StorageTypeNotSupported',
  'PointInTimeRestoreNotEnabled',
]);
const NOT_FOUND_ERRORS = new Set([
  'DBSnapshotNotFound',
  'DBClusterSnapshotNotFound',
  'DBInstanceNotFound',
  'DBClusterNotFound',
]);
const IAM_HINT = 'see iam/restore-drill-policy.json for the minimal policy a drill needs';
const CREDENTIAL_HINT =
  'check AWS_PROFILE / AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (or the instance role); restore-drill uses the standard AWS credential chain';

/**
 * Turns what the AWS SDK throws for an RDS call into a one-line error with a hint: a {@link ConfigError}
 * for what the user can fix (permissions — naming the missing IAM action —, credentials, names, settings,
 * region), a {@link RestoreDrillError} when RDS kept throttling after every retry. Anything else is
 * returned unchanged. Only RDS's own message about a setting is quoted, redacted; never the request.
 *
 * @example
 * try { await rds.send(command); } catch (error) { throw explainRdsError(error, { action: 'DescribeDBSnapshots', resource: 'snapshots of shop' }); }
 */
export function explainRdsError(error: unknown, where: RdsErrorContext): unknown {
  if (!(error instanceof Error) || error instanceof RestoreDrillError) return error;
  const name = error.name;
  // The SDK names RDS errors by their shape (`DBInstanceAlreadyExistsFault`), the API by code (`DBInstanceAlreadyExists`).
  const code = name.replace(/(Fault|Exception)$/, '');
  const status = (error as { $metadata?: { httpStatusCode?: number; attempts?: number } }).$metadata;
  const action = `rds:${where.action}`;
  const region = where.region ? ` in ${where.region}` : '';
  const rdsMessage = redact(error.message.split('\n')[0] ?? '').trim();

  if (name === 'AbortError') return error;
  if (ACCESS_ERRORS.has(code) || status?.httpStatusCode === 403) {
    if (code === 'KMSKeyNotAccessible') {
      // RDS needs a grant on the key to restore: without kms:CreateGrant the key can be Enabled and still unusable.
      const key = where.kmsKeyId
        ? `KMS key ${where.kmsKeyId}${where.kmsKeyState ? ` (state ${where.kmsKeyState})` : ''}`
        : `the KMS key of ${where.resource}`;
      return new ConfigError(
        `RDS cannot use ${key} for ${action} on ${where.resource}${region} (${name}): the drill's role lacks kms:CreateGrant on it, or the key's policy does not allow this account`,
        'grant the drill role kms:DescribeKey and kms:CreateGrant on the key (iam/restore-drill-policy.json); for a copy shared from another account, allow this account in the key policy there',
      );
    }
    return new ConfigError(
      `AWS denied ${action} on ${where.resource}${region} (${name}): the drill's credentials lack permission for ${action}`,
      `grant ${action}; ${IAM_HINT}`,
    );
  }
  if (CREDENTIAL_ERRORS.has(code))
    return new ConfigError(`RDS refused the credentials (${name}) for ${action}${region}`, CREDENTIAL_HINT);
  if (name === 'CredentialsProviderError')
    return new ConfigError(`no AWS credentials found for ${action}${region}`, CREDENTIAL_HINT);
  if (THROTTLING_ERRORS.has(code)) {
    return new RestoreDrillError(
      `RDS kept throttling ${action}${region} after ${status?.attempts ?? 'several'} attempts with backoff`,
      'run the drill again later, or outside the busy hours of other tools using the RDS API in this account',
    );
  }
  if (SETTING_ERRORS.has(code)) {
    return new ConfigError(
      `RDS refused ${action} for ${where.resource}${region}: ${rdsMessage || name}`,
      'change the drill option RDS names (instance class, subnet group, security groups, parameter group), or the quota',
    );
  }
  if (NOT_FOUND_ERRORS.has(code) || status?.httpStatusCode === 404) {
    return new RdsNotFoundError(
      `RDS found no ${where.resource}${region} (${name})`,
      'check the identifier and the region (AWS_REGION or the `region` option)',
    );
  }
  if (/region is missing/i.test(error.message))
    return new ConfigError(`no AWS region configured for ${action}`, 'set AWS_REGION or the `region` option');
  const network = networkCode(error);
  if (network || name === 'TimeoutError') {
    return new ConfigError(
      `cannot reach RDS${region} for ${action}: ${network ?? 'timed out'}`,
      'check the network, proxy and DNS (and AWS_ENDPOINT_URL when set)',
    );
  }
  return error;
}

/**
 * Sends one RDS command, turning failures into {@link explainRdsError}'s one-line errors. The IAM action
 * is the command's name without `Command`, which is how IAM names RDS actions.
 *
 * @example
 * const { DBInstances } = await sendRds(rds, new DescribeDBInstancesCommand({ DBInstanceIdentifier: 'shop' }), 'db-instance shop');
 */
export async function sendRds<Input extends ServiceInputTypes, Output extends ServiceOutputTypes>(
  client: RDSClient,
  command: $Command<Input, Output, RDSClientResolvedConfig, ServiceInputTypes, ServiceOutputTypes>,
  resource: RdsResource,
  signal?: AbortSignal,
): Promise<Output> {
  try {
    return await client.send(command, { abortSignal: signal });
  } catch (error) {
    const about = typeof resource === 'string' ? { resource } : resource;
    throw explainRdsError(error, {
      ...about,
      action: actionOf(command),
      region: await client.config.region().catch(() => undefined),
    });
  }
}

/** `DescribeDBSnapshotsCommand` → `DescribeDBSnapshots`. */
export function actionOf(command: { readonly constructor: { readonly name: string } }): string {
  return command.constructor.name.replace(/Command$/, '');
}
