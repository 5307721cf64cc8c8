import { CreateBucketCommand, DeleteObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { pastReport } from '../views/history.testkit.ts';
import { listReportFiles } from '../evidence/report-files.ts';
import { writeReport } from '../drill/report-writer.ts';
import { generateKeyPair, loadSigningKey } from '../evidence/signing-key.ts';
import { startMotoServer, type MotoServer } from '../testing/moto-server.ts';
import { hasStackTrace, runCli } from '../testing/run-cli.ts';
import { startShopDatabase, type ShopDatabase } from '../testing/shop-database.ts';
import { dumpWithManifest } from '../markers/dump-with-manifest.ts';

let moto: MotoServer;
let shop: ShopDatabase;
let dir: string;
let keys: { privatePath: string; publicPath: string };
let dump: string;
let awsEnv: Record<string, string>;

beforeAll(async () => {
  [moto, shop] = await Promise.all([startMotoServer(), startShopDatabase()]);
  dir = await mkdtemp(join(tmpdir(), 'evidence-cli-test-'));
  keys = generateKeyPair(join(dir, 'keys'));
  const c = shop.environment.connectionConfig();
  dump = (
    await dumpWithManifest(
      `postgres://${c.user}:${encodeURIComponent(String(c.password))}@${encodeURIComponent(String(c.host))}:${c.port}/${c.database}`,
      join(dir, 'shop.dump'),
    )
  ).path;
  // No AWS config files of the machine: only what the test sets.
  awsEnv = {
    ...moto.env,
    AWS_CONFIG_FILE: join(dir, 'none'),
    AWS_SHARED_CREDENTIALS_FILE: join(dir, 'none'),
    AWS_ENDPOINT_URL_S3: '',
    RESTORE_DRILL_EVIDENCE: '',
  };
  const s3 = new S3Client({
    endpoint: moto.endpoint,
    forcePathStyle: true,
    region: 'us-east-1',
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  });
  await s3.send(new CreateBucketCommand({ Bucket: 'evidence' }));
  s3.destroy();
});
afterAll(async () => {
  await Promise.all([moto?.stop(), shop?.stop()]);
  await rm(dir, { recursive: true, force: true });
});

const cli = (args: string[], env: Record<string, string> = {}) => runCli(args, { env: { ...awsEnv, ...env } });

/** A report directory with past runs: `orders` last ran three months ago, `billing` today; both monthly. */
async function directoryWithStaleDrill(): Promise<{ reportDir: string; names: string[]; heads: string[] }> {
  const reportDir = await mkdtemp(join(dir, 'reports-'));
  const key = loadSigningKey(keys.privatePath);
  const day = 86_400_000;
  const runs: Array<[string, number]> = [
    ['orders', 150],
    ['orders', 120],
    ['orders', 90],
    ['billing', 1],
  ];
  const names: string[] = [];
  const heads: string[] = [];
  for (const [drill, daysAgo] of runs) {
    const at = new Date(Date.now() - daysAgo * day);
    const written = await writeReport({
      report: {
        ...pastReport({ name: drill, runs: [] }, { at: at.toISOString(), restoreSeconds: 100 }),
        cadence: '1mo',
      },
      reportDir,
      key,
      now: at,
    });
    names.push(written.jsonPath.slice(reportDir.length + 1));
    heads.push(`${written.head.position}:${written.head.digest}`);
  }
  return { reportDir, names, heads };
}

describe('stale drills', () => {
  test('verify --ledger fails (exit 1) and history, controls and the HTML index mark the drill stale; --grace moves the line', async () => {
    const { reportDir } = await directoryWithStaleDrill();
    const verified = await cli(['verify', '--ledger', reportDir, '--key', keys.publicPath]);
    expect(verified.code).toBe(1);
    expect(verified.stdout).toMatch(/^valid {3}ledger .* — chain unbroken$/m);
    expect(verified.stdout).toMatch(
      /^STALE {3}drill "orders" is STALE: its newest report \(.*orders\.report\.json\) finished .*; cadence 1mo \+ grace 7d 00h: the next was due by /m,
    );
    expect(verified.stdout).not.toMatch(/drill "billing" is STALE/);

    const history = await cli([
      'history',
      reportDir,
      '--key',
      keys.publicPath,
      '--html',
      join(reportDir, 'audit.html'),
    ]);
    expect(history.code).toBe(0);
    expect(history.stdout).toMatch(/^stale: ✗ drill "orders" is STALE/m);
    expect(await readFile(join(reportDir, 'audit.html'), 'utf8')).toContain('data-stale-drill="orders"');

    const controls = await cli(['controls', reportDir, '--key', keys.publicPath]);
    expect(controls.stdout).toContain('Stale: ❌ 1 drill(s) have no report within their cadence plus grace:');
    const json = JSON.parse((await cli(['controls', reportDir, '--format', 'json'])).stdout);
    expect(json.stale.map((s: { drill: string }) => s.drill)).toEqual(['orders']);

    const lenient = await cli(['verify', '--ledger', reportDir, '--key', keys.publicPath, '--grace', '100d']);
    expect(lenient.stdout).not.toContain('STALE');
    expect(lenient.code).toBe(0);
  });
});

describe('verify --ledger DIR --expect-head', () => {
  test('the newest report removed: exit 1, how many are missing and since when; the oldest removed: exit 1 too', async () => {
    const { reportDir, names, heads } = await directoryWithStaleDrill();
    const head = heads.at(-1)!;
    const whole = await cli([
      'verify',
      '--ledger',
      reportDir,
      '--key',
      keys.publicPath,
      '--expect-head',
      head,
      '--grace',
      '1000d',
    ]);
    expect(whole.stdout).toContain(`head    ${head} — reaches the expected head ${head}`);
    expect(whole.code).toBe(0);

    await rm(join(reportDir, names.at(-1)!));
    const cutEnd = await cli([
      'verify',
      '--ledger',
      reportDir,
      '--key',
      keys.publicPath,
      '--expect-head',
      head,
      '--grace',
      '1000d',
    ]);
    expect(cutEnd.code).toBe(1);
    expect(cutEnd.stdout).toMatch(
      new RegExp(
        `INVALID ledger .* ends at position 3 \\(${names[2]}, finished (\\S+)\\) but its head is position 4: 1 report\\(s\\) missing since \\1 \\(the newest were removed\\?\\)`,
      ),
    );
    // Without the head kept elsewhere the shortened chain looks whole: that is what the anchor is for.
    expect((await cli(['verify', '--ledger', reportDir, '--key', keys.publicPath, '--grace', '1000d'])).code).toBe(0);

    await rm(join(reportDir, names[0]!));
    const cutStart = await cli(['verify', '--ledger', reportDir, '--key', keys.publicPath, '--grace', '1000d']);
    expect(cutStart.code).toBe(1);
    expect(cutStart.stdout).toContain(
      `INVALID ledger ${reportDir} — ${names[1]}: comes first but is position 2 of its chain: 1 earlier report(s) missing (the oldest were removed?)`,
    );
  });

  test('a malformed head, or one without a chain to check, is a usage error (exit 2)', async () => {
    const bad = await cli(['verify', '--ledger', dir, '--key', keys.publicPath, '--expect-head', '4:abc']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('bad --expect-head "4:abc"');
    const alone = await cli([
      'verify',
      join(dir, 'x.report.json'),
      '--key',
      keys.publicPath,
      '--expect-head',
      `4:sha256:${'0'.repeat(64)}`,
    ]);
    expect(alone.code).toBe(2);
    expect(alone.stderr).toContain('--expect-head needs a chain to check');
    expect(hasStackTrace(bad.stderr + alone.stderr)).toBe(false);
  });
});

describe('--evidence s3://… (moto_server)', () => {
  test('two checks at once on fresh machines append to one chain; verify, history and controls read it from the store; a deleted report fails verify', async () => {
    const store = 's3://evidence/drills/';
    const check = (name: string) =>
      cli([
        'check',
        '--dump',
        dump,
        '--name',
        name,
        '--report-dir',
        join(dir, `machine-${name}`),
        '--signing-key',
        keys.privatePath,
        '--evidence',
        store,
        '--cadence',
        '1mo',
      ]);
    const [a, b] = await Promise.all([check('shop-a'), check('shop-b')]);
    expect([a.code, b.code], a.stderr + b.stderr).toEqual([0, 0]);
    const positions = [a, b]
      .map((out) =>
        Number(/ledger head: (\d+):sha256:[0-9a-f]{64} \(s3:\/\/evidence\/drills\/\)/.exec(out.stdout)?.[1]),
      )
      .sort();
    expect(positions).toEqual([1, 2]);
    const stored = JSON.parse(
      Buffer.from(
        JSON.parse(
          await readFile(
            join(dir, 'machine-shop-a', (await listReportFiles(join(dir, 'machine-shop-a'))).at(-1)!),
            'utf8',
          ),
        ).payload,
        'base64',
      ).toString('utf8'),
    ).predicate;
    expect(stored).toMatchObject({ cadence: '1mo', reportFile: expect.stringMatching(/-shop-a\.report\.json$/) });
    expect([1, 2]).toContain(stored.position);
    // The head went into the summary beside the reports.
    expect(await readFile(join(dir, 'machine-shop-a', 'summary.md'), 'utf8')).toMatch(
      /^Ledger head: position \*\*[12]\*\*, `sha256:[0-9a-f]{64}`\. Check the reports against it: `restore-drill verify --evidence s3:\/\/evidence\/drills\/ --key PUB\.pem --expect-head [12]:sha256:[0-9a-f]{64}`$/m,
    );

    const verified = await cli(['verify', '--evidence', store, '--key', keys.publicPath]);
    expect(verified.stdout).toMatch(
      /^valid {3}evidence s3:\/\/evidence\/drills\/ — 2 report\(s\), chain unbroken \(head 2:sha256:[0-9a-f]{64}, the store's own\)$/m,
    );
    expect(verified.stdout).toMatch(/^unlocked .*shop-a\.report\.json — no Object Lock retention: it can be deleted$/m);
    expect(verified.code).toBe(0);

    const history = await cli(['history', '--evidence', store, '--key', keys.publicPath], {
      RESTORE_DRILL_EVIDENCE: '',
    });
    expect(history.stdout).toMatch(/^s3:\/\/evidence\/drills\/: 2 report\(s\) of 2 drill\(s\)$/m);
    expect(history.stdout).toContain('ledger: ✓ chain unbroken');
    const controls = await cli(['controls', '--format', 'json'], { RESTORE_DRILL_EVIDENCE: store });
    expect(JSON.parse(controls.stdout).reports).toBe(2);

    // The report at the head deleted from the store: the store's own head shows it.
    const newest =
      (await listReportFiles(join(dir, 'machine-shop-a'))).length === 2 ? 'machine-shop-a' : 'machine-shop-b';
    const file = (await listReportFiles(join(dir, newest))).at(-1)!;
    const s3 = new S3Client({
      endpoint: moto.endpoint,
      forcePathStyle: true,
      region: 'us-east-1',
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    });
    await s3.send(new DeleteObjectCommand({ Bucket: 'evidence', Key: `drills/reports/${file}` }));
    s3.destroy();
    const cut = await cli(['verify', '--evidence', store, '--key', keys.publicPath]);
    expect(cut.code).toBe(1);
    expect(cut.stdout).toContain(
      `INVALID evidence s3://evidence/drills/ledger: position 2 is ${file}, which is not in the store (deleted?)`,
    );
    expect(cut.stdout).toMatch(/ends at position 1 .* but its head is position 2: 1 report\(s\) missing since /);
  });

  test("run --evidence: drills in worker processes append to the store; a drill's own cadence wins over --cadence", async () => {
    const project = await mkdtemp(join(dir, 'project-'));
    await mkdir(join(project, 'drills'));
    const drillFile = (name: string, extra: string) => `
import { drill, fileSource } from ${JSON.stringify(fileURLToPath(new URL('../index.ts', import.meta.url)))};
drill(${JSON.stringify(name)}, { source: fileSource(${JSON.stringify(dump)}), objectives: { rto: '1h', rpo: '1d' }${extra} });
`;
    await writeFile(join(project, 'drills', 'weekly.drill.ts'), drillFile('weekly shop', ", cadence: '7d'"));
    await writeFile(join(project, 'drills', 'monthly.drill.ts'), drillFile('monthly shop', ''));
    const store = 's3://evidence/run/';
    const out = await runCli(
      [
        'run',
        '--report-dir',
        join(project, 'reports'),
        '--signing-key',
        keys.privatePath,
        '--evidence',
        store,
        '--cadence',
        '1mo',
      ],
      {
        cwd: project,
        env: awsEnv,
      },
    );
    expect(out.code, out.stderr).toBe(0);
    expect(await readFile(join(project, 'reports', 'summary.md'), 'utf8')).toContain('Ledger head: position **2**');

    const verified = await cli(['verify', '--evidence', store, '--key', keys.publicPath]);
    expect(verified.stdout).toMatch(/^valid {3}evidence s3:\/\/evidence\/run\/ — 2 report\(s\), chain unbroken/m);
    expect(verified.code).toBe(0);
    const cadences: Record<string, string> = {};
    for (const file of await listReportFiles(join(project, 'reports'))) {
      const envelope = JSON.parse(await readFile(join(project, 'reports', file), 'utf8'));
      const predicate = JSON.parse(Buffer.from(envelope.payload, 'base64').toString('utf8')).predicate;
      cadences[predicate.drill.name] = predicate.cadence;
    }
    expect(cadences).toEqual({ 'weekly shop': '7d', 'monthly shop': '1mo' });
    // Two drills in worker processes plus verify: ~40 s alone, past 120 s when the suite loads both cores.
  }, 300_000);

  test('a retention on a bucket without Object Lock, or a store that is not there, stops check before it starts (exit 2)', async () => {
    const locked = await cli([
      'check',
      '--dump',
      dump,
      '--report-dir',
      join(dir, 'never'),
      '--signing-key',
      keys.privatePath,
      '--evidence',
      's3://evidence/x/',
      '--evidence-retention',
      '400d',
    ]);
    expect(locked.code).toBe(2);
    expect(locked.stderr).toContain('bucket evidence has no S3 Object Lock, so --evidence-retention cannot be applied');
    const missing = await cli(
      ['check', '--dump', dump, '--report-dir', join(dir, 'never'), '--signing-key', keys.privatePath],
      { RESTORE_DRILL_EVIDENCE: 's3://no-such-evidence/x/' },
    );
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('no such S3 bucket: no-such-evidence');
    expect(hasStackTrace(locked.stderr + missing.stderr)).toBe(false);
  });
});
