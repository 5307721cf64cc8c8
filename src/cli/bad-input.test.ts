// Bad input, table-driven: every row is one mistake a user makes. Each ends with one clear line (what is
// wrong; what to do), the right exit code and no stack trace; where a drill had started, a signed report.
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { chmod, copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { generateKeyPair } from '../evidence/signing-key.ts';
import { hasStackTrace, runCli } from '../testing/run-cli.ts';
import { markedShopDump } from '../testing/shop-database.ts';

let dir: string;
let good: string;
let keys: { privatePath: string; publicPath: string };
let tiny: string | undefined;
let small: string | undefined;
let readOnly: string | undefined;
/** A PEM header with no key after it, as RESTORE_DRILL_SIGNING_KEY content. */
let truncatedKey: string;
const fixtureKey = (name: string) => fileURLToPath(new URL(`../../fixtures/keys/${name}`, import.meta.url));
const isRoot = process.getuid?.() === 0;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bad-input-test-'));
  keys = generateKeyPair(join(dir, 'keys'));
  good = await markedShopDump(join(dir, 'good.dump'));
  await writeFile(
    join(dir, 'rsa.pem'),
    generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }),
  );
  await copyFile(fixtureKey('garbage-private-key.pem'), join(dir, 'garbage.pem'));
  truncatedKey = await readFile(fixtureKey('truncated-private-key.txt'), 'utf8');
  await writeFile(join(dir, 'not-a-report.report.json'), '{"hello": "world"}');
  await writeFile(join(dir, 'a-file'), 'x');
  await mkdir(join(dir, 'empty-project', 'drills'), { recursive: true });
  await mkdir(join(dir, 'broken-project', 'drills'), { recursive: true });
  await writeFile(
    join(dir, 'broken-project', 'drills', 'syntax.drill.ts'),
    'import { drill } from "x";\ndrill("oops", { source: ',
  );
  if (isRoot) {
    // A full disk: a 64 KiB tmpfs holds the signing key check and nothing much else.
    tiny = join(dir, 'tiny');
    small = join(dir, 'small');
    await mkdir(tiny);
    await mkdir(small);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', tiny]);
    await writeFile(join(tiny, 'filler'), Buffer.alloc(128 * 1024)).catch(() => {}); // fills it to the last byte
    // Room for labels and work dirs, not for a database cluster.
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m,mode=1777', 'tmpfs', small]);
    readOnly = join(dir, 'read-only');
    await mkdir(readOnly);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=64k', 'tmpfs', readOnly]);
    await chmod(dir, 0o755); // the cluster runs as an unprivileged user, who must reach it
  } else {
    console.log('bad-input: not root, so the full-disk case (a tiny tmpfs) is skipped');
  }
});
afterAll(async () => {
  for (const mount of [tiny, small, readOnly]) if (mount) execFileSync('umount', [mount]);
  await rm(dir, { recursive: true, force: true });
});

const d = (name: string) => join(dir, name);
const drill = () => ['--report-dir', d('reports'), '--signing-key', keys.privatePath];

type Row = [
  name: string,
  args: () => string[],
  expected: RegExp,
  options?: { env?: () => Record<string, string>; cwd?: () => string; code?: number },
];

// exit 2: usage and configuration errors, caught before anything starts (no report).
const usage: Row[] = [
  ['unknown flag', () => ['check', '--dump', good, '--frobnicate'], /unknown option '--frobnicate'/],
  ['unknown command', () => ['chek'], /unknown command 'chek'/],
  ['missing required flag', () => ['check'], /required option '--dump/],
  ['bad RTO duration', () => ['check', '--dump', good, '--rto', '8 hours'], /bad RTO "8 hours"/],
  ['bad RPO duration', () => ['check', '--dump', good, '--rpo', '-3h'], /bad RPO "-3h"/],
  ['bad --jobs', () => ['check', '--dump', good, '--jobs', '0'], /--jobs must be a positive whole number/],
  ['bad --pick', () => ['check', '--dump', good, '--pick', 'newest'], /bad --pick "newest" — use latest, nearest:TIME/],
  [
    'bad --dumped-without',
    () => ['check', '--dump', good, '--dumped-without', 'grants'],
    /--dumped-without takes acl, owner or acl,owner, got "grants"/,
  ],
  [
    'missing signing key',
    () => ['check', '--dump', good, '--signing-key', d('absent.pem')],
    /signing key not found: .*absent\.pem/,
  ],
  [
    'unreadable signing key (a folder)',
    () => ['check', '--dump', good, '--signing-key', d('keys')],
    /signing key .*keys/,
  ],
  [
    'wrong key type (RSA)',
    () => ['check', '--dump', good, '--signing-key', d('rsa.pem')],
    /RSA key; restore-drill signs with Ed25519/,
  ],
  [
    'garbage PEM',
    () => ['check', '--dump', good, '--signing-key', d('garbage.pem')],
    /not a PEM private key|signing key/,
  ],
  [
    'garbage key in the environment',
    () => ['check', '--dump', good],
    /RESTORE_DRILL_SIGNING_KEY/,
    { env: () => ({ RESTORE_DRILL_SIGNING_KEY: truncatedKey }) },
  ],
  [
    'report directory under a file',
    () => ['check', '--dump', good, '--report-dir', d('a-file/reports'), '--signing-key', keys.privatePath],
    /report directory .*a-file\/reports is not writable \(ENOTDIR\)/,
  ],
  [
    'an empty bucket URI',
    () => ['check', '--dump', 's3://', ...drill()],
    /not an S3 URI: s3:\/\/ — write s3:\/\/BUCKET\/KEY/,
  ],
  [
    'an S3 timeout that is not a duration',
    () => ['check', '--dump', 's3://backups/x/', ...drill()],
    /bad RESTORE_DRILL_S3_TIMEOUT "soon"/,
    { env: () => ({ RESTORE_DRILL_S3_TIMEOUT: 'soon' }) },
  ],
  ['mark without --url', () => ['mark'], /no production database named — pass --url-env NAME/],
  ['mark with a URL that is not one', () => ['mark', '--url', 'not a url'], /URL/],
  ['mark with a MySQL URL', () => ['mark', '--url', 'mysql://app:hunter2@127.0.0.1/db'], /postgres/],
  [
    'mark against a server that is not there',
    () => ['mark', '--url', 'postgres://app:hunter2@127.0.0.1:1/db'],
    /cannot connect to the database — connection refused/,
  ],
  [
    'mark with an unknown mode',
    () => ['mark', '--url', 'postgres://app@127.0.0.1:1/db', '--table', 'orders:sometimes'],
    /unknown marker mode "sometimes"/,
  ],
  ['dump without --out', () => ['dump', '--url', 'postgres://app@127.0.0.1:1/db'], /required option '--out/],
  [
    'dump into /proc',
    () => ['dump', '--url', 'postgres://app:hunter2@127.0.0.1:1/db', '--out', '/proc/restore-drill.dump'],
    /--out \/proc\/restore-drill\.dump is on procfs/,
  ],
  [
    'dump into a character device',
    () => ['dump', '--url', 'postgres://app:hunter2@127.0.0.1:1/db', '--out', '/dev/null'],
    /--out \/dev\/null is a character device, not a file/,
  ],
  [
    'dump in an unknown format',
    () => ['dump', '--url', 'postgres://app@127.0.0.1:1/db', '--out', d('x.dump'), '--format', 'zip'],
    /zip/,
  ],
  ['verify without a key', () => ['verify', d('not-a-report.report.json')], /required option '--key/],
  [
    'verify with a missing key file',
    () => ['verify', d('not-a-report.report.json'), '--key', d('absent.pub.pem')],
    /absent\.pub\.pem/,
  ],
  ['verify with nothing to verify', () => ['verify', '--key', keys.publicPath], /nothing to verify/],
  [
    'verify a ledger that is not there',
    () => ['verify', '--key', keys.publicPath, '--ledger', d('no-such-dir')],
    /no-such-dir/,
  ],
  ['keygen without --out', () => ['keygen'], /required option '--out/],
  ['keygen over an existing key', () => ['keygen', '--out', d('keys')], /signing key already exists/],
  // TSX_DISABLE_CACHE: without a fresh bundle the CLI runs through tsx, whose cache would live in TMPDIR too.
  [
    'a temp dir that does not exist',
    () => ['check', '--dump', good, ...drill()],
    /temp dir .*no-such-tmp \(TMPDIR\) does not exist — set TMPDIR/,
    { env: () => ({ TMPDIR: d('no-such-tmp'), TSX_DISABLE_CACHE: '1' }) },
  ],
  ...(isRoot
    ? [
        [
          'a read-only temp dir',
          () => ['check', '--dump', good, ...drill()],
          /temp dir .*read-only \(TMPDIR\) is not writable \(EROFS\)/,
          { env: () => ({ TMPDIR: d('read-only'), TSX_DISABLE_CACHE: '1' }) },
        ] as Row,
      ]
    : []),
  [
    'bad --verify-budget',
    () => ['check', '--dump', good, '--verify-budget', '30 minutes', ...drill()],
    /bad --verify-budget "30 minutes"/,
  ],
  [
    'a --verify-budget of no time',
    () => ['run', '--verify-budget', '0s', ...drill()],
    /bad --verify-budget "0s": no time to verify in/,
    { cwd: () => d('empty-project') },
  ],
  [
    'bad $RESTORE_DRILL_VERIFY_BUDGET',
    () => ['check', '--dump', good, ...drill()],
    /bad \$RESTORE_DRILL_VERIFY_BUDGET "soon"/,
    { env: () => ({ RESTORE_DRILL_VERIFY_BUDGET: 'soon' }) },
  ],
  ['cleanup with a bad duration', () => ['cleanup', '--older-than', '3 days'], /bad --older-than "3 days"/],
  [
    'cleanup --s3-scratch with something that is not a scratch prefix',
    () => ['cleanup', '--s3-scratch', 'acme-drills/scratch'],
    /^restore-drill: --s3-scratch takes s3:\/\/BUCKET\/PREFIX\/ \(the scratch bucket and prefix of your drills\), not acme-drills\/scratch/m,
  ],
  [
    'run a drill file that does not exist',
    () => ['run', 'drills/absent.drill.ts'],
    /drill file not found: drills\/absent\.drill\.ts/,
    { cwd: () => d('empty-project') },
  ],
  ['run with no drills', () => ['run', ...drill()], /no drill files found/, { cwd: () => d('empty-project') }],
  [
    'run --rds-limit with nowhere every shard shares',
    () => ['run', '--rds-limit', '3', ...drill()],
    /--rds-limit 3 needs a place every shard shares to keep its leases/,
    { cwd: () => d('empty-project') },
  ],
  [
    'run a drill file with a syntax error',
    () => ['run', ...drill()],
    /syntax\.drill\.ts could not be loaded/,
    { cwd: () => d('broken-project') },
  ],
];

// exit 1: the drill started, so it failed and wrote its signed report.
const failedDrill: Row[] = [
  [
    'a dump that is not there',
    () => ['check', '--dump', d('absent.dump'), ...drill()],
    /backup path not found|not found/,
  ],
  ['a file that is not a dump', () => ['check', '--dump', d('a-file'), ...drill()], /is not a pg_dump archive/],
  [
    'no PostgreSQL binaries',
    () => ['check', '--dump', good, ...drill()],
    /no PostgreSQL binaries/,
    { env: () => ({ RESTORE_DRILL_PG_BIN: d('no-bin') }) },
  ],
  ...(isRoot
    ? [
        [
          'the server to run as root',
          () => ['check', '--dump', good, ...drill()],
          /RESTORE_DRILL_PG_USER names "root", which is root \(uid 0\)/,
          { env: () => ({ RESTORE_DRILL_PG_USER: 'root', RESTORE_DRILL_SANDBOX: 'off' }) },
        ] as Row,
      ] // the account of the unsandboxed opt-out
    : []),
];

describe.concurrent('exit 2, one line, no report', () => {
  test.each(usage)('%s', async (_name, args, expected, options = {}) => {
    const out = await runCli(args(), { env: options.env?.(), cwd: options.cwd?.() });
    const lines = out.stderr
      .trim()
      .split('\n')
      .filter((l) => l.startsWith('restore-drill:') || !l.startsWith('['));
    expect(out.code, out.stderr).toBe(options.code ?? 2);
    expect(out.stdout + out.stderr).toMatch(expected);
    expect(lines.length, out.stderr).toBeLessThanOrEqual(2); // the error line (and, for run, vitest's own)
    expect(hasStackTrace(out.stdout + out.stderr)).toBe(false);
    expect(out.stdout + out.stderr).not.toContain('hunter2');
  });
});

describe.concurrent('exit 1, a signed failed report', () => {
  test.each(failedDrill)('%s', async (name, args, expected, options = {}) => {
    const reports = d(`reports-${name.replace(/\W+/g, '-')}`);
    const argv = args().map((a) => (a === d('reports') ? reports : a));
    const out = await runCli(argv, { env: options.env?.(), cwd: options.cwd?.() });
    expect(out.code, out.stdout + out.stderr).toBe(1);
    expect(out.stdout).toMatch(expected);
    expect(hasStackTrace(out.stdout + out.stderr)).toBe(false);
    expect((await readdir(reports)).filter((n) => n.endsWith('.report.json'))).toHaveLength(1);
  });
});

test('a stray zzzz.report.json in the report directory: one warning, and the drill still writes its report (it once looped forever)', async () => {
  const reports = d('reports-stray');
  await mkdir(reports, { recursive: true });
  await writeFile(join(reports, 'zzzz.report.json'), '{"not": "a report"}');
  const out = await runCli([
    'check',
    '--dump',
    d('a-file'),
    '--report-dir',
    reports,
    '--signing-key',
    keys.privatePath,
  ]);
  expect(out.code, out.stdout + out.stderr).toBe(1);
  expect(out.stderr).toMatch(
    /restore-drill: warning: .*zzzz\.report\.json is not named <UTC time>-<drill>\.report\.json; it is not read as a report/,
  );
  expect(hasStackTrace(out.stdout + out.stderr)).toBe(false);
  expect((await readdir(reports)).filter((n) => /^\d{8}T\d{6}Z-.*\.report\.json$/.test(n))).toHaveLength(1);
});

test.skipIf(!isRoot)('a full disk during the restore: one line in the summary, a signed report elsewhere', async () => {
  const reports = d('reports-full-disk');
  const out = await runCli(['check', '--dump', good, '--report-dir', reports, '--signing-key', keys.privatePath], {
    env: { TMPDIR: small! },
  });
  expect(out.code).toBe(1);
  expect(out.stdout, out.stderr).toMatch(/No space left on device|ENOSPC|no space/i);
  expect(hasStackTrace(out.stdout + out.stderr)).toBe(false);
  expect((await readdir(reports)).filter((n) => n.endsWith('.report.json'))).toHaveLength(1);
});

test.skipIf(!isRoot)('a full disk where the report goes: refused up front, exit 2', async () => {
  const out = await runCli([
    'check',
    '--dump',
    good,
    '--report-dir',
    join(tiny!, 'reports'),
    '--signing-key',
    keys.privatePath,
  ]);
  expect(out.code).toBe(2);
  expect(out.stderr).toMatch(/report directory .* is not writable \(ENOSPC\)/);
});

test('the table has at least 25 bad inputs', () => {
  expect(usage.length + failedDrill.length + 2).toBeGreaterThanOrEqual(25);
});
