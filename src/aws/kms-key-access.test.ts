import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { ConfigError } from '../errors.ts';
import { startMotoServer, type MotoServer } from '../testing/moto-server.ts';
import { createMotoIamUser } from '../testing/rds-moto.ts';
import { checkKeyAccess } from './kms-key-access.ts';

const REGION = 'eu-central-1';
let moto: MotoServer;
let admin: KMSClient;
let drillRole: KMSClient;

async function rejection(promise: Promise<unknown>): Promise<ConfigError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ConfigError);
  expect((error as Error).message).not.toContain('\n');
  return error as ConfigError;
}

beforeAll(async () => {
  // moto checks every request against IAM once the users are made (3 unsigned calls each).
  moto = await startMotoServer({ env: { INITIAL_NO_AUTH_ACTION_COUNT: '6' } });
  const client = (credentials: { accessKeyId: string; secretAccessKey: string }) =>
    new KMSClient({ region: REGION, endpoint: moto.endpoint, credentials, maxAttempts: 1 });
  admin = client(
    await createMotoIamUser(moto, 'admin', {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }],
    }),
  );
  // A drill role that may restore RDS snapshots but was never granted anything on KMS keys.
  drillRole = client(
    await createMotoIamUser(moto, 'drill', {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: ['rds:*'], Resource: '*' }],
    }),
  );
});

afterAll(async () => {
  admin?.destroy();
  drillRole?.destroy();
  await moto?.stop();
});

test('an Enabled ENCRYPT_DECRYPT key passes, and the check says what it did and did not exercise', async () => {
  const { KeyMetadata } = await admin.send(new CreateKeyCommand({}));
  const check = await checkKeyAccess({
    kmsKeyId: KeyMetadata!.Arn!,
    region: REGION,
    what: 'RDS snapshot shop-eu',
    client: admin,
  });
  expect(check).toEqual({
    name: `key access ${KeyMetadata!.Arn}`,
    status: 'passed',
    expected: 'the key of RDS snapshot shop-eu is Enabled and describable by the drill (kms:DescribeKey)',
    actual: 'Enabled, ENCRYPT_DECRYPT (CUSTOMER)',
    detail: `described in ${REGION}; kms:CreateGrant is exercised by the restore itself`,
  });
});

test('a role without kms:DescribeKey fails with one line naming the key and the missing permission', async () => {
  const { KeyMetadata } = await admin.send(new CreateKeyCommand({}));
  const error = await rejection(
    checkKeyAccess({ kmsKeyId: KeyMetadata!.Arn!, region: REGION, what: 'RDS snapshot shop-eu', client: drillRole }),
  );
  expect(error.message).toMatch(
    new RegExp(`^KMS denied kms:DescribeKey on ${KeyMetadata!.Arn} \\((AccessDeniedException|HTTP 403)\\)$`),
  );
  expect(error.hint).toMatch(/kms:DescribeKey and kms:CreateGrant/);
});

test("a key that does not exist in the copy's region, and a signing key, are refused by name", async () => {
  const missing = `arn:aws:kms:${REGION}:123456789012:key/00000000-0000-0000-0000-000000000000`;
  expect(
    (
      await rejection(
        checkKeyAccess({ kmsKeyId: missing, region: REGION, what: 'RDS snapshot shop-eu', client: admin }),
      )
    ).message,
  ).toBe(`KMS key ${missing} not found (NotFoundException)`);
  const { KeyMetadata } = await admin.send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }));
  expect(
    (
      await rejection(
        checkKeyAccess({ kmsKeyId: KeyMetadata!.Arn!, region: REGION, what: 'RDS snapshot shop-eu', client: admin }),
      )
    ).message,
  ).toBe(`KMS key ${KeyMetadata!.Arn} of RDS snapshot shop-eu in ${REGION} is a SIGN_VERIFY key, not ENCRYPT_DECRYPT`);
});
