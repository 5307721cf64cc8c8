import { DescribeDBSnapshotsCommand } from '@aws-sdk/client-rds';
import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from 'vitest';
import { ConfigError } from '../errors.ts';
import { startStalledServer, type StalledServer } from '../testing/stalled-server.ts';
import { rdsSnapshotSource } from '../sources/rds/rds-snapshot-source.ts';
import { awsTimeouts } from './aws-timeouts.ts';
import { checkKeyAccess } from './kms-key-access.ts';
import { createRdsClient } from './rds-client.ts';
import { sendRds } from './rds-errors.ts';
import { s3Timeouts } from './s3-client.ts';

/** An AWS endpoint that accepts connections and never answers a byte. */
let stalled: StalledServer;
let endpoint: string;

beforeAll(async () => {
  stalled = await startStalledServer();
  endpoint = stalled.endpoint;
});
afterAll(async () => {
  await stalled.close();
});
afterEach(() => {
  vi.unstubAllEnvs();
});

/** The SDK pointed at the silent endpoint, with test credentials and no config files of the host. */
function useStalledEndpoint(timeout: string): void {
  for (const [name, value] of Object.entries({
    AWS_ENDPOINT_URL: endpoint,
    AWS_ENDPOINT_URL_RDS: '',
    AWS_ENDPOINT_URL_KMS: '',
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
    AWS_REGION: 'eu-central-1',
    AWS_CONFIG_FILE: '/nonexistent/aws-config',
    AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/aws-credentials',
    RESTORE_DRILL_AWS_TIMEOUT: timeout,
  })) {
    vi.stubEnv(name, value);
  }
}

async function oneLine(promise: Promise<unknown>): Promise<Error> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(Error);
  expect((error as Error).message).not.toContain('\n');
  return error as Error;
}

describe('awsTimeouts', () => {
  test("RESTORE_DRILL_AWS_TIMEOUT sets every client's silence limit; S3 keeps its own variable first", () => {
    expect(awsTimeouts({ RESTORE_DRILL_AWS_TIMEOUT: '5s' })).toEqual({ connectionTimeout: 5000, socketTimeout: 5000 });
    expect(awsTimeouts({})).toEqual({ connectionTimeout: 10_000, socketTimeout: 60_000 });
    expect(s3Timeouts({ RESTORE_DRILL_AWS_TIMEOUT: '2m' })).toEqual({
      connectionTimeout: 10_000,
      socketTimeout: 120_000,
    });
    expect(s3Timeouts({ RESTORE_DRILL_AWS_TIMEOUT: '2m', RESTORE_DRILL_S3_TIMEOUT: '5s' })).toEqual({
      connectionTimeout: 5000,
      socketTimeout: 5000,
    });
    expect(() => awsTimeouts({ RESTORE_DRILL_AWS_TIMEOUT: 'soon' })).toThrow(/bad RESTORE_DRILL_AWS_TIMEOUT "soon"/);
  });
});

describe('an RDS or KMS endpoint that never answers', () => {
  test('an RDS listing ends with one line saying it timed out', async () => {
    useStalledEndpoint('0.3s');
    const error = await oneLine(
      rdsSnapshotSource({ dbInstanceIdentifier: 'shop-prod', maxAttempts: 2 }).list({
        workDir: '/nonexistent',
        log: () => {},
      }),
    );
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toBe('cannot reach RDS in eu-central-1 for rds:DescribeDBSnapshots: timed out');
  });

  test('the key-access check ends with one line naming KMS, the endpoint and the key', async () => {
    useStalledEndpoint('0.3s');
    const key = 'arn:aws:kms:eu-central-1:123456789012:key/0f1e2d3c-aaaa-bbbb-cccc-111122223333';
    const error = await oneLine(
      checkKeyAccess({ kmsKeyId: key, region: 'eu-central-1', what: 'RDS snapshot shop-eu' }),
    );
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toBe(`cannot reach KMS at ${endpoint} for KMS key ${key}: timed out`);
  });

  test("the drill's abort signal ends an RDS call and a KMS call at once, whatever the timeout", async () => {
    useStalledEndpoint('1h'); // only the signal can end them
    const rds = await createRdsClient({ region: 'eu-central-1' });
    try {
      await expect(
        sendRds(rds, new DescribeDBSnapshotsCommand({}), 'snapshots', AbortSignal.timeout(200)),
      ).rejects.toMatchObject({ name: 'AbortError' });
    } finally {
      rds.destroy();
    }
    const key = 'arn:aws:kms:eu-central-1:123456789012:key/0f1e2d3c-aaaa-bbbb-cccc-111122223333';
    await expect(
      checkKeyAccess({
        kmsKeyId: key,
        region: 'eu-central-1',
        what: 'RDS snapshot shop-eu',
        signal: AbortSignal.timeout(200),
      }),
    ).rejects.toMatchObject({ name: 'AbortError' });
  });
});
