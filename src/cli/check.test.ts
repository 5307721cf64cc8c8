import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { generateKeyPair } from '../evidence/signing-key.ts';
import { verifyReportFile } from '../evidence/report-verifier.ts';
import { loadPublicKey } from '../evidence/signing-key.ts';
import { newerDumpHeader } from '../testing/newer-dump-header.ts';
import { connectionUrl } from '../testing/connection-url.ts';
import { hasStackTrace, runCli } from '../testing/run-cli.ts';
import { startShopDatabase, type ShopDatabase } from '../testing/shop-database.ts';
import { dumpWithManifest, manifestPathFor } from '../markers/dump-with-manifest.ts';

let shop: ShopDatabase;
let dir: string;
let keys: { privatePath: string; publicPath: string };
let good: string;

/** A dump of production as it is now, carrying the manifest of the good dump: a backup that lost something. */
async function brokenBackup(name: string, breakIt: string, repair: string): Promise<string> {
  await shop.query(breakIt);
  const path = await shop.dump(join(dir, `${name}.dump`), 'custom');
  await shop.query(repair);
  await copyFile(manifestPathFor(good), manifestPathFor(path));
  return path;
}

const check = (dump: string, extra: string[] = [], env: Record<string, string> = {}) =>
  runCli(['check', '--dump', dump, '--report-dir', join(dir, 'reports'), '--signing-key', keys.privatePath, ...extra], {
    env,
  });

async function latestReport(): Promise<string> {
  const names = (await readdir(join(dir, 'reports'))).filter((n) => n.endsWith('.report.json')).sort();
  return join(dir, 'reports', names.at(-1)!);
}

beforeAll(async () => {
  shop = await startShopDatabase();
  dir = await mkdtemp(join(tmpdir(), 'check-test-'));
  keys = generateKeyPair(join(dir, 'keys'));
  const env = shop.environment.connectionConfig();
  const url = `postgres://${env.user}:${encodeURIComponent(String(env.password))}@${encodeURIComponent(String(env.host))}:${env.port}/${env.database}`;
  good = (await dumpWithManifest(url, join(dir, 'good.dump'))).path;
});
afterAll(async () => {
  await shop?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('restore-drill check', () => {
  test('a clean backup passes, and its signed report verifies', async () => {
    // A fleet's shared --rds-limit is accepted and checked like run's; check makes no RDS instance and says so.
    const leases = join(dir, 'leases');
    const out = await check(good, ['--rto', '1h', '--rpo', '1d', '--rds-limit', '1', '--lease-store', leases]);
    expect(out.stderr).toContain(
      `restore-drill: --rds-limit 1: check restores into local-postgres, not an RDS instance: it takes no lease of ${leases}\n`,
    );
    expect(out.stdout).toContain('PASSED');
    expect(out.code).toBe(0);
    const report = await latestReport();
    const verified = await runCli(['verify', report, '--key', keys.publicPath]);
    expect(verified.stdout).toContain('valid');
    expect(verified.code).toBe(0);
    const result = await verifyReportFile(report, loadPublicKey(keys.publicPath));
    expect(result.report?.status).toBe('passed');
    expect(result.report?.objectives.rpo.basis).toBe('manifest');
    expect(result.report?.checks.every((c) => c.status === 'passed')).toBe(true);
  });

  test('a report with one changed byte fails verification', async () => {
    const report = await latestReport();
    const envelope = JSON.parse(await readFile(report, 'utf8'));
    const payload = Buffer.from(envelope.payload, 'base64');
    payload[payload.indexOf('passed')] = 'P'.charCodeAt(0);
    envelope.payload = payload.toString('base64');
    const tampered = join(dir, 'tampered.report.json');
    await writeFile(tampered, JSON.stringify(envelope));
    const out = await runCli(['verify', tampered, '--key', keys.publicPath]);
    expect(out.stdout).toMatch(/INVALID .*tampered\.report\.json/);
    expect(out.code).toBe(1);
  });

  test('one changed value fails and names the table and key range', async () => {
    const dump = await brokenBackup(
      'changed',
      "update customers set name = 'Mallory' where id = 42",
      "update customers set name = 'Customer 42' where id = 42",
    );
    const out = await check(dump);
    expect(out.code).toBe(1);
    expect(out.stdout).toContain('FAILED');
    expect(out.stdout).toMatch(
      /checksum public\.customers \(manifest\).*id 32\.\.62|checksum public\.customers \(manifest\).*id \d+\.\.\d+/,
    );
    expect(out.stdout).not.toMatch(/row count public\.customers/);
  });

  test('--verify-during-restore: the same checks, each table compared as soon as pg_restore loaded it', async () => {
    const clean = await check(good, ['--verify-during-restore']);
    expect(clean.code, clean.stdout + clean.stderr).toBe(0);
    const result = await verifyReportFile(await latestReport(), loadPublicKey(keys.publicPath));
    expect(result.report?.checks.filter((c) => c.name.startsWith('checksum ')).length).toBeGreaterThan(3);
    expect(result.report?.checks.every((c) => c.status === 'passed')).toBe(true);
    const dump = await brokenBackup(
      'changed-early',
      "update customers set name = 'Mallory' where id = 42",
      "update customers set name = 'Customer 42' where id = 42",
    );
    const broken = await check(dump, ['--verify-during-restore']);
    expect(broken.code).toBe(1);
    expect(broken.stdout).toMatch(/checksum public\.customers \(manifest\).*id \d+\.\.\d+/);
  });

  test('one missing row fails and names the table', async () => {
    const dump = await brokenBackup(
      'missing-row',
      'create table saved as select * from order_items where order_id = 7 and line = 1; delete from order_items where order_id = 7 and line = 1',
      'insert into order_items select * from saved; drop table saved',
    );
    const out = await check(dump);
    expect(out.code).toBe(1);
    expect(out.stdout).toMatch(/row count public\.order_items \(manifest\)/);
  });

  test('one missing table fails and names it; its other checks are skipped, not passed', async () => {
    const dump = await brokenBackup(
      'missing-table',
      'alter table documents rename to documents_moved',
      'alter table documents_moved rename to documents',
    );
    const out = await check(dump);
    expect(out.code).toBe(1);
    expect(out.stdout).toMatch(/table exists public\.documents \(manifest\)/);
    const { report } = await verifyReportFile(await latestReport(), loadPublicKey(keys.publicPath));
    const documents = report!.checks.filter((c) => c.table === 'public.documents');
    expect(documents.map((c) => c.status)).toEqual(['failed', 'skipped', 'skipped', 'skipped']);
  });

  test('a dump without any marker fails and says how to take one', async () => {
    const bare = await shop.dump(join(dir, 'bare.dump'), 'custom');
    const out = await check(bare);
    expect(out.code).toBe(1);
    expect(out.stdout).toMatch(
      /markers present: expected a marker, got none \(no manifest beside the dump and no restore_drill\.markers/,
    );
  });

  test('an RPO the backup is too old for fails the objective', async () => {
    const out = await check(good, ['--rpo', '1s']);
    expect(out.code).toBe(1);
    expect(out.stdout).toMatch(/objective RPO/);
  });
});

describe('restore-drill check: bad input', () => {
  test.each([
    ['a missing dump', () => join(dir, 'nope.dump'), /dump not found: .*nope\.dump|not found/],
    [
      'a truncated dump',
      async () => {
        const bytes = await readFile(good);
        await writeFile(join(dir, 'truncated.dump'), bytes.subarray(0, Math.floor(bytes.length / 3)));
        return join(dir, 'truncated.dump');
      },
      /pg_restore exited with code 1/,
    ],
    [
      'a dump with flipped bytes inside table data',
      async () => {
        const bytes = Buffer.from(await readFile(good));
        for (let i = Math.floor(bytes.length * 0.6); i < Math.floor(bytes.length * 0.6) + 64; i++)
          bytes[i] = bytes[i]! ^ 0xff;
        await writeFile(join(dir, 'flipped.dump'), bytes);
        await copyFile(manifestPathFor(good), manifestPathFor(join(dir, 'flipped.dump')));
        return join(dir, 'flipped.dump');
      },
      /pg_restore exited with code 1|checksum public\./,
    ],
    [
      'a dump from a newer PostgreSQL',
      async () => {
        await writeFile(join(dir, 'newer.dump'), newerDumpHeader('17.2'));
        return join(dir, 'newer.dump');
      },
      /made by pg_dump 17\.2 .*newer than every local pg_restore.*postgresql-client-17/,
    ],
    [
      'a file that is not a dump',
      async () => {
        await writeFile(join(dir, 'notes.txt'), 'hello');
        return join(dir, 'notes.txt');
      },
      /is not a pg_dump archive/,
    ],
  ])('%s: one line, exit 1, a signed failed report', async (_name, make, message) => {
    const dump = await make();
    const signedReports = async () =>
      (await readdir(join(dir, 'reports')).catch(() => [])).filter((n) => n.endsWith('.report.json'));
    const before = (await signedReports()).length;
    const out = await check(dump);
    expect(out.code).toBe(1);
    expect(out.stdout + out.stderr).toMatch(message);
    expect(hasStackTrace(out.stderr)).toBe(false);
    expect((await signedReports()).length).toBe(before + 1);
    const { valid, report } = await verifyReportFile(await latestReport(), loadPublicKey(keys.publicPath));
    expect(valid).toBe(true);
    expect(report?.status).toBe('failed');
    expect(report?.checks.some((c) => c.status === 'passed' && c.name !== 'objective RPO')).toBe(false);
  });

  test('no PostgreSQL binaries: one line naming what to install, an error report', async () => {
    const out = await check(good, [], { RESTORE_DRILL_PG_BIN: join(dir, 'no-such-bin') });
    expect(out.code).toBe(1);
    expect(out.stdout).toMatch(/no PostgreSQL binaries .* found/);
    expect(out.stdout).toMatch(/RESTORE_DRILL_PG_BIN/);
    expect(hasStackTrace(out.stderr + out.stdout)).toBe(false);
    const { report } = await verifyReportFile(await latestReport(), loadPublicKey(keys.publicPath));
    expect(report?.status).toBe('error');
    expect(report?.error?.phase).toBe('provision');
  });

  test.each([
    [['--rto', '8 hours'], /bad RTO "8 hours"/],
    [['--rpo', 'soon'], /bad RPO "soon"/],
    [['--jobs', 'many'], /--jobs must be a positive whole number/],
    [['--frobnicate'], /unknown option '--frobnicate'/],
  ])('usage error %j: one line, exit 2, no report', async (args, message) => {
    const before = (await readdir(join(dir, 'reports')).catch(() => [])).length;
    const out = await check(good, args);
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(message);
    expect(out.stderr.trim().split('\n')).toHaveLength(1);
    expect((await readdir(join(dir, 'reports')).catch(() => [])).length).toBe(before);
  });

  test('a missing or wrong signing key is a usage error naming the key', async () => {
    const missing = await runCli([
      'check',
      '--dump',
      good,
      '--report-dir',
      join(dir, 'reports'),
      '--signing-key',
      join(dir, 'absent.pem'),
    ]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/signing key not found: .*absent\.pem/);
    const { generateKeyPairSync } = await import('node:crypto');
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' });
    await writeFile(join(dir, 'rsa.pem'), rsa);
    const wrong = await runCli([
      'check',
      '--dump',
      good,
      '--report-dir',
      join(dir, 'reports'),
      '--signing-key',
      join(dir, 'rsa.pem'),
    ]);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/RSA key; restore-drill signs with Ed25519/);
    expect(hasStackTrace(wrong.stderr)).toBe(false);
  });
});

describe('restore-drill check: interrupted', () => {
  test('SIGTERM during the restore: error report naming the phase, non-zero exit, nothing left behind', async () => {
    const reports = join(dir, 'interrupted');
    await mkdir(reports, { recursive: true });
    let sent = false;
    const out = await runCli(['check', '--dump', good, '--report-dir', reports, '--signing-key', keys.privatePath], {
      onStderr: (text, child) => {
        if (!sent && /provision: PostgreSQL .* listening/.test(text)) {
          sent = true;
          child.kill('SIGTERM');
        }
      },
    });
    expect(sent).toBe(true);
    expect(out.code).not.toBe(0);
    const names = (await readdir(reports)).filter((n) => n.endsWith('.report.json'));
    expect(names).toHaveLength(1);
    const { valid, report } = await verifyReportFile(join(reports, names[0]!), loadPublicKey(keys.publicPath));
    expect(valid).toBe(true);
    expect(report?.status).toBe('error');
    expect(report?.error?.message).toMatch(/interrupted by SIGTERM/);
    expect(['provision', 'restore']).toContain(report?.error?.phase);
    // Removed by the drill's teardown, or — when the interrupted process exits two seconds after its report
    // while teardown still runs (under load) — by the run's watchdog, as in run.test.ts.
    await expect
      .poll(async () => (await readdir(tmpdir())).filter((n) => n.includes(report!.runId)), {
        timeout: 20_000,
        interval: 500,
      })
      .toEqual([]);
  });
});

describe('restore-drill check --pick', () => {
  test('nearest:TIME restores the dump of a folder nearest that time, not the latest', async () => {
    const folder = join(dir, 'picked');
    await mkdir(folder);
    const config = shop.environment.connectionConfig();
    const url = connectionUrl(config);
    const older = await dumpWithManifest(url, join(folder, 'older.dump'));
    await new Promise((r) => setTimeout(r, 1100)); // manifest times are whole seconds apart
    await dumpWithManifest(url, join(folder, 'newer.dump'));
    const olderAt = JSON.parse(await readFile(manifestPathFor(older.path), 'utf8')).takenAt as string;
    const out = await check(folder, ['--pick', `nearest:${olderAt}`]);
    expect(out.code).toBe(0);
    const result = await verifyReportFile(await latestReport(), loadPublicKey(keys.publicPath));
    expect(result.report?.recoveryPoint?.id).toMatch(/older\.dump$/);
  });
});
