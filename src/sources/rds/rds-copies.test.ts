import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateKeyCommand,
  DisableKeyCommand,
  EnableKeyCommand,
  KMSClient,
  ScheduleKeyDeletionCommand,
} from '@aws-sdk/client-kms';
import {
  CopyDBSnapshotCommand,
  DescribeDBInstancesCommand,
  type DBSnapshot,
  type RDSClient,
} from '@aws-sdk/client-rds';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { NoSnapshotsError } from '../../aws/rds-errors.ts';
import { runDrill } from '../../drill/run-drill.ts';
import { rdsInstance } from '../../environments/rds/rds-instance.ts';
import { generateKeyPair } from '../../evidence/signing-key.ts';
import { writeMarker } from '../../markers/take-marker.ts';
import { startMotoServer, type MotoServer } from '../../testing/moto-server.ts';
import {
  answerWithRdsError,
  createProductionInstance,
  motoRdsClient,
  standIn,
  useMotoAwsEnv,
} from '../../testing/rds-moto.ts';
import { startShopDatabase, type ShopDatabase } from '../../testing/shop-database.ts';
import type { SourceContext } from '../source.ts';
import { copyEvidence } from './rds-copies.ts';
import { rdsSnapshotSource } from './rds-snapshot-source.ts';

let moto: MotoServer;
let restoreEnv: () => void;
let east: RDSClient;
let frankfurt: RDSClient;
let kmsFrankfurt: KMSClient;
let shop: ShopDatabase;
let dir: string;
let signingKey: string;
/** The key the EU copy is encrypted with, in eu-central-1 (its ARN, and the id moto's state changes want). */
let euKey: { arn: string; id: string };
const logs: string[] = [];
const log = (line: string) => logs.push(line);
const context: SourceContext = { workDir: '/nonexistent', log };

async function newKey(kms: KMSClient): Promise<{ arn: string; id: string }> {
  const { KeyMetadata } = await kms.send(new CreateKeyCommand({ Description: 'restore-drill test key' }));
  return { arn: KeyMetadata!.Arn!, id: KeyMetadata!.KeyId! };
}

/** A drill of the newest EU copy; `client` lets a test put RDS's own answers in front of moto. */
function euCopyDrill(name: string, client?: RDSClient) {
  return runDrill({
    name,
    log,
    reportDir: join(dir, 'reports'),
    signingKey,
    source: rdsSnapshotSource({ dbInstanceIdentifier: 'shop-prod', region: 'eu-central-1', copiesOnly: true }),
    environment: rdsInstance({ ...standIn(shop), ...(client ? { client } : {}) }),
    objectives: { rto: '8h', rpo: '24h' },
  });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rds-copies-test-'));
  signingKey = generateKeyPair(join(dir, 'keys')).privatePath;
  moto = await startMotoServer();
  restoreEnv = useMotoAwsEnv(moto);
  east = motoRdsClient(moto, 'us-east-1');
  frankfurt = motoRdsClient(moto, 'eu-central-1');
  const credentials = { accessKeyId: 'testing', secretAccessKey: 'testing' };
  kmsFrankfurt = new KMSClient({ region: 'eu-central-1', endpoint: moto.endpoint, credentials });
  const kmsEast = new KMSClient({ region: 'us-east-1', endpoint: moto.endpoint, credentials });
  const usKey = await newKey(kmsEast);
  kmsEast.destroy();
  euKey = await newKey(kmsFrankfurt);
  shop = await startShopDatabase();
  await writeMarker(shop.environment.connectionConfig());
  // Production lives in us-east-1; its nightly snapshot is copied to Frankfurt under a Frankfurt key.
  await createProductionInstance(east, 'shop-prod', { kmsKeyId: usKey.arn, snapshots: ['shop-nightly'] });
  await frankfurt.send(
    new CopyDBSnapshotCommand({
      SourceDBSnapshotIdentifier: 'arn:aws:rds:us-east-1:123456789012:snapshot:shop-nightly',
      TargetDBSnapshotIdentifier: 'shop-nightly-eu',
      KmsKeyId: euKey.arn,
    }),
  );
});

afterAll(async () => {
  east?.destroy();
  frankfurt?.destroy();
  kmsFrankfurt?.destroy();
  await moto?.stop();
  await shop?.stop();
  restoreEnv?.();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('listing copies', () => {
  test('copiesOnly lists the copy in the copy region, saying why it is one, with the original time', async () => {
    const source = rdsSnapshotSource({ dbInstanceIdentifier: 'shop-prod', region: 'eu-central-1', copiesOnly: true });
    expect(source.describe()).toBe('rds-snapshot copies of db-instance shop-prod (eu-central-1)');
    const [copy, ...rest] = await source.list(context);
    expect(rest).toEqual([]);
    const [original] = await rdsSnapshotSource({
      dbInstanceIdentifier: 'shop-prod',
      region: 'us-east-1',
      snapshotType: 'manual',
    }).list(context);
    expect(copy).toMatchObject({
      id: 'shop-nightly-eu',
      facts: {
        region: 'eu-central-1',
        encrypted: true,
        kmsKeyId: euKey.arn,
        copy: expect.stringMatching(
          /^copy of a snapshot taken .+ elsewhere \(the database does not live in eu-central-1\)$/,
        ) as unknown,
      },
    });
    expect(copy!.createdAt).toEqual(original!.createdAt);
  });

  test("a region holding only the primary's own snapshots has no copy: one line naming the database, region and what was found", async () => {
    const error = await rdsSnapshotSource({ dbInstanceIdentifier: 'shop-prod', region: 'us-east-1', copiesOnly: true })
      .list(context)
      .catch((e: unknown) => e as Error);
    expect(error).toBeInstanceOf(NoSnapshotsError);
    expect((error as Error).message).toMatch(
      /^no offsite copies of db-instance shop-prod in us-east-1: no available snapshot there was copied from another region or account \(\d+ not offsite copies\)$/,
    );
    const none = await rdsSnapshotSource({
      dbInstanceIdentifier: 'shop-prod',
      region: 'ap-southeast-2',
      copiesOnly: true,
    })
      .list(context)
      .catch((e: unknown) => e as Error);
    expect((none as Error).message).toBe(
      'no offsite copies of db-instance shop-prod in ap-southeast-2: no available snapshot there was copied from another region or account',
    );
  });
});

test("copyEvidence: RDS's own source fields decide; without them, only a snapshot older than itself of a database not in the region", () => {
  const at = (iso: string) => new Date(iso);
  const base: DBSnapshot = {
    DBSnapshotArn: 'arn:aws:rds:eu-central-1:111111111111:snapshot:s',
    SnapshotCreateTime: at('2026-12-01T04:00:00Z'),
    OriginalSnapshotCreateTime: at('2026-12-01T03:00:00Z'),
  };
  expect(copyEvidence({ ...base, SourceRegion: 'us-east-1' }, 'eu-central-1', true)).toBe('copied from us-east-1');
  expect(
    copyEvidence(
      { ...base, SourceDBSnapshotIdentifier: 'arn:aws:rds:us-east-1:222222222222:snapshot:x' },
      'eu-central-1',
      true,
    ),
  ).toBe('copied from us-east-1 (account 222222222222)');
  expect(
    copyEvidence(
      { ...base, SourceDBSnapshotIdentifier: 'arn:aws:rds:eu-central-1:222222222222:snapshot:x' },
      'eu-central-1',
      true,
    ),
  ).toBe('copied from account 222222222222');
  expect(copyEvidence({ ...base, SnapshotType: 'shared' }, 'eu-central-1', true)).toBe(
    'shared from account 111111111111',
  );
  // A copy made in the same region and account (e.g. of an automated snapshot) is not offsite.
  expect(
    copyEvidence({ ...base, SourceDBSnapshotIdentifier: 'rds:shop-2026-12-01-03-00' }, 'eu-central-1', false),
  ).toBeNull();
  expect(copyEvidence({ ...base, SourceRegion: 'eu-central-1' }, 'eu-central-1', false)).toBeNull();
  // Nothing named: older data than the snapshot is a copy only when the database does not live here.
  expect(copyEvidence(base, 'eu-central-1', true)).toBeNull();
  expect(copyEvidence(base, 'eu-central-1', false)).toMatch(
    /^copy of a snapshot taken 2026-12-01T03:00:00.000Z elsewhere/,
  );
  expect(
    copyEvidence({ ...base, OriginalSnapshotCreateTime: base.SnapshotCreateTime }, 'eu-central-1', false),
  ).toBeNull();
});

test('a drill restores the EU copy into a temporary instance in eu-central-1, after the key-access check, and verifies it', async () => {
  let restoredIn: string | undefined;
  const result = await runDrill({
    name: 'shop restores from its EU copy',
    log,
    reportDir: join(dir, 'reports'),
    signingKey,
    source: rdsSnapshotSource({ dbInstanceIdentifier: 'shop-prod', region: 'eu-central-1', copiesOnly: true }),
    environment: rdsInstance(standIn(shop)),
    objectives: { rto: '8h', rpo: '24h' },
    body: async ({ environment }) => {
      const identifier = String(environment.facts?.instanceIdentifier);
      // The temporary instance exists in Frankfurt, not in the primary's region.
      restoredIn = (await frankfurt.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: identifier })))
        .DBInstances?.[0]?.DBInstanceArn;
      await expect(
        east.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: identifier })),
      ).rejects.toMatchObject({ name: 'DBInstanceNotFoundFault' });
    },
  });
  expect(result.failedChecks).toEqual([]);
  expect(result.status).toBe('passed');
  expect(restoredIn).toMatch(/^arn:aws:rds:eu-central-1:/);
  expect(result.report.recoveryPoint).toMatchObject({
    id: 'shop-nightly-eu',
    facts: { region: 'eu-central-1', copy: expect.stringContaining('elsewhere') as unknown },
  });
  expect(result.report.environment?.facts).toMatchObject({
    region: 'eu-central-1',
    restoredFrom: 'arn:aws:rds:eu-central-1:123456789012:snapshot:shop-nightly-eu',
  });
  expect(result.report.checks).toContainEqual(
    expect.objectContaining({
      name: `key access ${euKey.arn}`,
      status: 'passed',
      actual: 'Enabled, ENCRYPT_DECRYPT (CUSTOMER)',
    }),
  );
  expect(result.report.checks.filter((c) => c.table && c.status === 'passed').length).toBeGreaterThan(5);
});

describe('a copy nobody can decrypt fails before anything is created, with one line and a signed report', () => {
  async function failedDrill(name: string, client?: RDSClient) {
    const before = (await frankfurt.send(new DescribeDBInstancesCommand({}))).DBInstances?.length ?? 0;
    const result = await euCopyDrill(name, client);
    // The recovery path is broken: the drill fails (not an error of the harness), and says why in one line.
    expect(result.status).toBe('failed');
    expect(result.report.error?.message).not.toContain('\n');
    expect(JSON.parse(await readFile(result.reportPath, 'utf8'))).toMatchObject({
      payloadType: 'application/vnd.in-toto+json',
      signatures: [expect.anything()],
    });
    expect((await frankfurt.send(new DescribeDBInstancesCommand({}))).DBInstances?.length ?? 0).toBe(before);
    return result;
  }

  test('a disabled key', async () => {
    await kmsFrankfurt.send(new DisableKeyCommand({ KeyId: euKey.id }));
    try {
      const result = await failedDrill('EU copy, key disabled');
      expect(result.report.error).toEqual({
        phase: 'locate',
        message: `KMS key ${euKey.arn} of RDS snapshot shop-nightly-eu in eu-central-1 is Disabled: nobody can decrypt the recovery point while it is (enable the key (kms:EnableKey), or copy the snapshot again with a usable key)`,
      });
    } finally {
      await kmsFrankfurt.send(new EnableKeyCommand({ KeyId: euKey.id }));
    }
  });

  test('RDS refusing the key at restore (no kms:CreateGrant) names the key, its state and the permission', async () => {
    const client = motoRdsClient(moto, 'eu-central-1');
    answerWithRdsError(client, 'RestoreDBInstanceFromDBSnapshot', {
      code: 'KMSKeyNotAccessibleFault',
      message: 'The specified KMS key is not accessible',
    });
    try {
      const result = await euCopyDrill('EU copy, no grant', client);
      expect(result.status).toBe('failed');
      expect(result.report.error).toEqual({
        phase: 'restore',
        message: expect.stringMatching(
          new RegExp(
            `^RDS cannot use KMS key ${euKey.arn} \\(state Enabled\\) for rds:RestoreDBInstanceFromDBSnapshot on snapshot shop-nightly-eu in eu-central-1 \\(KMSKeyNotAccessibleFault\\): the drill's role lacks kms:CreateGrant on it, or the key's policy does not allow this account \\(grant`,
          ),
        ) as unknown,
      });
      expect(result.report.checks).toContainEqual(
        expect.objectContaining({ name: `key access ${euKey.arn}`, status: 'passed' }),
      );
    } finally {
      client.destroy();
    }
  });

  test('a key pending deletion (checked last: it cannot be undone in moto)', async () => {
    await kmsFrankfurt.send(new ScheduleKeyDeletionCommand({ KeyId: euKey.id, PendingWindowInDays: 7 }));
    const result = await failedDrill('EU copy, key pending deletion');
    expect(result.report.error?.message).toMatch(
      new RegExp(
        `^KMS key ${euKey.arn} of RDS snapshot shop-nightly-eu in eu-central-1 is PendingDeletion, deletion scheduled for \\S+: nobody can decrypt`,
      ),
    );
  });
});
