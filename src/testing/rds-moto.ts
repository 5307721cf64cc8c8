import { Readable } from 'node:stream';
import { CreateDBInstanceCommand, CreateDBSnapshotCommand, RDSClient } from '@aws-sdk/client-rds';
import type { RdsInstanceOptions } from '../environments/rds/rds-instance.ts';
import type { MotoServer } from './moto-server.ts';
import type { ShopDatabase } from './shop-database.ts';

/** Every variable the SDK's standard configuration reads; the host's own AWS setup must not leak into tests. */
const AWS_VARS = [
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_REGION',
  'AWS_DEFAULT_REGION',
  'AWS_PROFILE',
  'AWS_ENDPOINT_URL',
  'AWS_ENDPOINT_URL_RDS',
  'AWS_ENDPOINT_URL_S3',
  'AWS_ENDPOINT_URL_SECRETS_MANAGER',
  'AWS_IGNORE_CONFIGURED_ENDPOINT_URLS',
  'AWS_CONFIG_FILE',
  'AWS_SHARED_CREDENTIALS_FILE',
  'AWS_MAX_ATTEMPTS',
  'AWS_RETRY_MODE',
];

/**
 * Points the SDK's standard configuration (used by `createRdsClient`, Secrets Manager, S3) at moto, with
 * config files that do not exist; returns a function that puts the previous environment back.
 *
 * @example
 * const restoreEnv = useMotoAwsEnv(moto);
 * afterAll(restoreEnv);
 */
export function useMotoAwsEnv(moto: Pick<MotoServer, 'env'>, extra: Record<string, string> = {}): () => void {
  const saved = Object.fromEntries(AWS_VARS.map((name) => [name, process.env[name]]));
  for (const name of AWS_VARS) delete process.env[name];
  Object.assign(
    process.env,
    { AWS_CONFIG_FILE: '/nonexistent/aws-config', AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/aws-credentials' },
    moto.env,
    extra,
  );
  return () => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
}

/** An RDS client for moto in `region` with moto's test credentials. */
export function motoRdsClient(
  moto: Pick<MotoServer, 'endpoint'>,
  region = 'us-east-1',
  credentials = { accessKeyId: 'testing', secretAccessKey: 'testing' },
  maxAttempts?: number,
): RDSClient {
  return new RDSClient({ region, endpoint: moto.endpoint, credentials, ...(maxAttempts ? { maxAttempts } : {}) });
}

/**
 * Creates a "production" PostgreSQL instance in moto, and snapshots of it when `snapshots` are named. moto
 * stamps every snapshot with the current time.
 *
 * @example
 * await createProductionInstance(rds, 'shop-prod', { snapshots: ['shop-1'], kmsKeyId: 'arn:aws:kms:…' });
 */
export async function createProductionInstance(
  client: RDSClient,
  identifier: string,
  options: {
    readonly snapshots?: readonly string[];
    readonly kmsKeyId?: string;
    readonly encrypted?: boolean;
    readonly backupRetentionDays?: number;
  } = {},
): Promise<void> {
  await client.send(
    new CreateDBInstanceCommand({
      DBInstanceIdentifier: identifier,
      Engine: 'postgres',
      EngineVersion: '16.4',
      DBInstanceClass: 'db.m6g.large',
      DBName: 'shop',
      MasterUsername: 'shop_admin',
      MasterUserPassword: 'production-password-not-for-drills',
      StorageEncrypted: options.encrypted ?? options.kmsKeyId !== undefined,
      ...(options.kmsKeyId ? { KmsKeyId: options.kmsKeyId } : {}),
      BackupRetentionPeriod: options.backupRetentionDays ?? 7,
      // Production is private. It also matters to the drills: moto's restores ignore a `false` override and
      // copy the source's setting, where AWS applies the override.
      PubliclyAccessible: false,
    }),
  );
  for (const snapshot of options.snapshots ?? []) {
    await client.send(
      new CreateDBSnapshotCommand({ DBInstanceIdentifier: identifier, DBSnapshotIdentifier: snapshot }),
    );
  }
}

/**
 * The options that make a temporary RDS instance restored in moto (which has no database behind it) reach
 * the local PostgreSQL standing in for it: its endpoint, credentials, and the `restored` database holding
 * the shop data.
 *
 * @example
 * rdsInstance({ ...standIn(shop), instanceClass: 'db.r6g.large' });
 */
export function standIn(
  shop: Pick<ShopDatabase, 'environment'>,
): Pick<RdsInstanceOptions, 'endpointOverride' | 'credentials' | 'database'> {
  const config = shop.environment.connectionConfig();
  return {
    endpointOverride: { host: String(config.host), port: Number(config.port) },
    credentials: { username: String(config.user), password: String(config.password) },
    database: 'restored',
  };
}

/** How many requests an injector saw and answered itself. */
export interface Injection {
  seen: number;
  injected: number;
}

/**
 * Makes RDS answer the first `times` calls of `action` with its real throttling error (HTTP 400, code
 * `Throttling`), through a middleware placed just before the HTTP handler. Everything above it is the
 * real SDK: the response is parsed by the real deserializer and retried by the real retry strategy with
 * its backoff, which moto cannot be made to exercise because it never throttles.
 *
 * @example
 * const throttled = throttleFirstCalls(rds, 'DescribeDBSnapshots', 2);
 * await source.list(context); // succeeds on the third attempt; throttled.seen === 3
 */
export function throttleFirstCalls(client: RDSClient, action: string, times: number): Injection {
  return answerWithRdsError(client, action, { code: 'Throttling', message: 'Rate exceeded' }, times);
}

/**
 * Makes RDS answer the first `times` calls of `action` with one of its real error documents (HTTP 400 by
 * default), parsed by the real deserializer — for answers moto never gives, such as `KMSKeyNotAccessibleFault`
 * when the drill's role may not create a grant on a copy's key.
 *
 * @example
 * answerWithRdsError(rds, 'RestoreDBInstanceFromDBSnapshot', { code: 'KMSKeyNotAccessibleFault', message: 'The specified KMS key is not accessible' });
 */
export function answerWithRdsError(
  client: RDSClient,
  action: string,
  error: { code: string; message: string; status?: number },
  times = Infinity,
): Injection {
  const state: Injection = { seen: 0, injected: 0 };
  client.middlewareStack.add(
    (next) => async (args) => {
      const raw = (args.request as { body?: unknown }).body;
      const body = typeof raw === 'string' ? raw : '';
      if (!new URLSearchParams(body).get('Action')?.startsWith(action)) return next(args);
      state.seen++;
      if (state.injected >= times) return next(args);
      state.injected++;
      const xml = `<ErrorResponse xmlns="http://rds.amazonaws.com/doc/2014-10-31/"><Error><Type>Sender</Type><Code>${error.code}</Code><Message>${error.message}</Message></Error><RequestId>injected-${state.injected}</RequestId></ErrorResponse>`;
      return {
        response: {
          statusCode: error.status ?? 400,
          reason: 'Bad Request',
          headers: { 'content-type': 'text/xml' },
          body: Readable.from([Buffer.from(xml)]),
        },
        output: undefined as never,
      };
    },
    { step: 'deserialize', priority: 'low', name: `inject${error.code}${action}` },
  );
  return state;
}

/**
 * Runs `then` right after a successful call of `action` with the call's input, e.g. to stop a just-restored
 * instance in moto so that it never becomes `available` and a waiter times out, or to apply a new master
 * password to the local PostgreSQL that stands in for the instance.
 */
export function afterCall(
  client: RDSClient,
  action: string,
  then: (input: Record<string, unknown>) => Promise<void>,
): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const result = await next(args);
      if (context.commandName === `${action}Command`) await then(args.input as Record<string, unknown>);
      return result;
    },
    { step: 'initialize', name: `after${action}` },
  );
}

/**
 * Creates an IAM user with an inline policy and an access key in moto, through unsigned calls that a
 * server started with `INITIAL_NO_AUTH_ACTION_COUNT` lets through (3 per user). After those, moto checks
 * each request against the user's policy, so a test sees RDS's real AccessDenied answers.
 *
 * @example
 * const moto = await startMotoServer({ env: { INITIAL_NO_AUTH_ACTION_COUNT: '6' } });
 * const admin = await createMotoIamUser(moto, 'admin', { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] });
 */
export async function createMotoIamUser(
  moto: Pick<MotoServer, 'endpoint'>,
  userName: string,
  policy: object,
): Promise<{ accessKeyId: string; secretAccessKey: string }> {
  const iam = async (params: Record<string, string>) => {
    const response = await fetch(`${moto.endpoint}/`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        // moto routes by the service named in the credential scope; the signature is not checked yet.
        authorization:
          'AWS4-HMAC-SHA256 Credential=AKIAUNSIGNED/20250101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0',
      },
      body: new URLSearchParams({ ...params, UserName: userName, Version: '2010-05-08' }),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`moto IAM ${params.Action} failed: ${response.status} ${text.slice(0, 200)}`);
    return text;
  };
  await iam({ Action: 'CreateUser' });
  await iam({ Action: 'PutUserPolicy', PolicyName: `${userName}-policy`, PolicyDocument: JSON.stringify(policy) });
  const text = await iam({ Action: 'CreateAccessKey' });
  const accessKeyId = /<AccessKeyId>([^<]+)</.exec(text)?.[1];
  const secretAccessKey = /<SecretAccessKey>([^<]+)</.exec(text)?.[1];
  if (!accessKeyId || !secretAccessKey) throw new Error('moto IAM CreateAccessKey returned no key');
  return { accessKeyId, secretAccessKey };
}
