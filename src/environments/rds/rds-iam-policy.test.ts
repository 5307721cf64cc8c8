import { readdir, readFile } from 'node:fs/promises';
import { sep } from 'node:path';
import { expect, test } from 'vitest';

interface Statement {
  readonly Sid: string;
  readonly Effect: 'Allow' | 'Deny';
  readonly Action: string | string[];
  readonly Resource: string | string[];
  readonly Condition?: Record<string, Record<string, string | string[]>>;
}

const root = new URL('../../../', import.meta.url);
/**
 * Every file of src/ that sends AWS commands, in every folder (sources, environments, attachments, erasure,
 * the evidence store and its lease pool, signers, policies…): a new folder is scanned without a change here.
 * Not tests, and not src/testing/ or test kits (they set up moto).
 */
async function codeFiles(): Promise<string[]> {
  const names = await readdir(new URL('src/', root), { recursive: true });
  return names
    .map((name) => `src/${name.split(sep).join('/')}`)
    .filter((file) => file.endsWith('.ts') && !/\.test\.ts$|\.testkit\.ts$|^src\/testing\//.test(file));
}
const SERVICE: Record<string, string> = {
  'client-kms': 'kms',
  'client-rds': 'rds',
  'client-s3': 's3',
  'client-secrets-manager': 'secretsmanager',
};
/**
 * SDK operations whose IAM actions have other names, or are more than one: a read or copy of an object at a
 * version needs `GetObjectVersion`, tags sent with a write need `PutObjectTagging`, deleting versions needs
 * `DeleteObjectVersion`, and a multipart upload is `PutObject`.
 */
const IAM_ACTIONS: Record<string, readonly string[]> = {
  's3:ListObjectsV2': ['s3:ListBucket'],
  's3:ListObjectVersions': ['s3:ListBucketVersions'],
  's3:ListBuckets': ['s3:ListAllMyBuckets'],
  's3:HeadObject': ['s3:GetObject', 's3:GetObjectVersion'],
  's3:GetObject': ['s3:GetObject', 's3:GetObjectVersion'],
  's3:CopyObject': ['s3:GetObject', 's3:GetObjectVersion', 's3:PutObject', 's3:PutObjectTagging'],
  's3:PutObject': ['s3:PutObject', 's3:PutObjectTagging'],
  's3:DeleteObjects': ['s3:DeleteObject', 's3:DeleteObjectVersion'],
  's3:CreateMultipartUpload': ['s3:PutObject'],
  's3:UploadPart': ['s3:PutObject'],
  's3:CompleteMultipartUpload': ['s3:PutObject'],
  's3:GetObjectLockConfiguration': ['s3:GetBucketObjectLockConfiguration'],
};
/** What each waiter polls. */
const WAITER_POLLS: Record<string, string> = {
  DBInstanceAvailable: 'DescribeDBInstances',
  DBInstanceDeleted: 'DescribeDBInstances',
  DBClusterAvailable: 'DescribeDBClusters',
};

/** The package each lazy loader of src/aws/sdk.ts imports. */
const SDK_PACKAGE: Record<string, string> = {
  s3: 'client-s3',
  rds: 'client-rds',
  kms: 'client-kms',
  secretsManager: 'client-secrets-manager',
};

/** Every AWS action the code can call: the `…Command`, `paginate…` and `waitUntil…` names it imports from the SDK. */
async function actionsCalled(): Promise<Set<string>> {
  const actions = new Set<string>();
  for (const file of await codeFiles()) {
    const source = await readFile(new URL(file, root), 'utf8');
    // Commands are loaded on first use (`const { GetObjectCommand } = await s3Sdk()`, src/aws/sdk.ts); type
    // imports name them too.
    const uses = [
      ...source.matchAll(/import\s*(?:type\s*)?\{([^}]*)\}\s*from\s*'@aws-sdk\/([a-z0-9-]+)'/g),
      ...[...source.matchAll(/const\s*\{([^}]*)\}\s*=\s*await\s+(\w+)Sdk\(\)/g)].map(([all, names, sdk]) => [
        all,
        names,
        SDK_PACKAGE[sdk!] ?? `unknown SDK loader ${sdk}Sdk`,
      ]),
    ];
    for (const [, names, pkg] of uses) {
      const service = SERVICE[pkg!];
      expect(service, `${file} imports @aws-sdk/${pkg}: add its IAM service name here`).toBeDefined();
      for (const raw of names!.split(',')) {
        const name = raw.trim().replace(/^type\s+/, '');
        let operation: string | undefined;
        if (/^[A-Z]\w+Command$/.test(name)) operation = name.replace(/Command$/, '');
        else if (name.startsWith('paginate')) operation = name.slice('paginate'.length);
        else if (name.startsWith('waitUntil')) operation = WAITER_POLLS[name.slice('waitUntil'.length)];
        if (!operation) continue;
        const action = `${service}:${operation}`;
        for (const iam of IAM_ACTIONS[action] ?? [action]) actions.add(iam);
      }
    }
  }
  return actions;
}

test('the checked-in IAM policy parses and grants every AWS action the drill code calls', async () => {
  const policy = JSON.parse(await readFile(new URL('iam/restore-drill-policy.json', root), 'utf8')) as {
    Version: string;
    Statement: Statement[];
  };
  expect(policy.Version).toBe('2012-10-17');
  const granted = new Set(policy.Statement.filter((s) => s.Effect === 'Allow').flatMap((s) => [s.Action].flat()));
  const called = await actionsCalled();
  expect(called.size).toBeGreaterThan(15);
  expect([...called].filter((a) => !granted.has(a))).toEqual([]);
  // Tags passed to Restore*/CreateDBInstance are written with AddTagsToResource, which IAM checks too.
  expect(granted).toContain('rds:AddTagsToResource');
  // Nothing granted that the code never calls, apart from that, kms:CreateGrant (needed by RDS for encrypted snapshots), and
  // the evidence store's retention: PutObject with a retention needs s3:PutObjectRetention, and HeadObject shows
  // a retention only with s3:GetObjectRetention.
  expect([...granted].filter((a) => !called.has(a)).sort()).toEqual([
    'kms:CreateGrant',
    'rds:AddTagsToResource',
    's3:GetObjectRetention',
    's3:PutObjectRetention',
  ]);
});

test('creating is allowed only with our owner tag in the request, or under a restore-drill-* name; modifying and deleting only what carries it', async () => {
  const policy = JSON.parse(await readFile(new URL('iam/restore-drill-policy.json', root), 'utf8')) as {
    Statement: Statement[];
  };
  const statementsGranting = (action: string) => policy.Statement.filter((s) => [s.Action].flat().includes(action));
  for (const action of [
    'rds:RestoreDBInstanceFromDBSnapshot',
    'rds:RestoreDBInstanceToPointInTime',
    'rds:RestoreDBClusterFromSnapshot',
    'rds:RestoreDBClusterToPointInTime',
    'rds:CreateDBInstance',
    'rds:AddTagsToResource',
  ]) {
    for (const s of statementsGranting(action))
      expect(s.Condition?.StringEquals?.['aws:RequestTag/restore-drill:owner'], action).toBe('restore-drill');
  }
  for (const action of ['rds:DeleteDBInstance', 'rds:DeleteDBCluster', 'rds:ModifyDBInstance', 'rds:ModifyDBCluster']) {
    const statements = statementsGranting(action);
    expect(statements.length, action).toBeGreaterThan(0);
    for (const s of statements) {
      expect(s.Condition?.StringEquals?.['aws:ResourceTag/restore-drill:owner'], action).toBe('restore-drill');
      for (const resource of [s.Resource].flat()) expect(resource).toMatch(/:(db|cluster):restore-drill-\*$/);
    }
  }
  // S3 scratches of attachment drills: made, tagged, written and deleted only where the name says restore-drill's.
  for (const action of [
    's3:CreateBucket',
    's3:DeleteBucket',
    's3:PutBucketTagging',
    's3:PutObjectTagging',
    's3:DeleteObjectVersion',
  ]) {
    const statements = statementsGranting(action);
    expect(statements.length, action).toBeGreaterThan(0);
    for (const s of statements)
      for (const resource of [s.Resource].flat())
        expect(resource, action).toMatch(/^arn:aws:s3:::(.+\/)?restore-drill-\*/);
  }
  // Objects are deleted only in scratches and in the lease pool (releasing a lease), never reports.
  for (const s of statementsGranting('s3:DeleteObject'))
    for (const resource of [s.Resource].flat()) expect(resource).toMatch(/restore-drill-\*(\/\*)?$|\/leases\/\*$/);
  // Read-only on snapshots: no statement grants a snapshot-changing action.
  const everything = policy.Statement.flatMap((s) => [s.Action].flat());
  expect(
    everything.filter(
      (a) =>
        /Snapshot$|Snapshots?Attribute|CopyDB|CreateDB(Cluster)?Snapshot/.test(a) &&
        !a.startsWith('rds:Describe') &&
        !a.startsWith('rds:Restore'),
    ),
  ).toEqual([]);
});
