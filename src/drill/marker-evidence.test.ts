// The markers a backup carries are untrusted input: a forged one fails its own check and never dates the data;
// the RPO comes from the newest evidence that is believed.
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { DrillReport } from '../model/report.ts';
import { generateKeyPair, loadPublicKey } from '../evidence/signing-key.ts';
import { verifyReportFile } from '../evidence/report-verifier.ts';
import { runCli } from '../testing/run-cli.ts';
import { startShopDatabase, type ShopDatabase } from '../testing/shop-database.ts';
import { dumpWithManifest } from '../markers/dump-with-manifest.ts';
import { writeMarker } from '../markers/take-marker.ts';

let shop: ShopDatabase;
let dir: string;
let url: string;
let keys: { privatePath: string; publicPath: string };
let runs = 0;

beforeAll(async () => {
  shop = await startShopDatabase();
  dir = await mkdtemp(join(tmpdir(), 'marker-evidence-test-'));
  keys = generateKeyPair(join(dir, 'keys'));
  const c = shop.environment.connectionConfig();
  url = `postgres://${c.user}:${encodeURIComponent(String(c.password))}@${encodeURIComponent(String(c.host))}:${c.port}/${c.database}`;
});
afterAll(async () => {
  await shop?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** `check` of a dump; the verified report. */
async function check(dump: string, args: string[]): Promise<{ code: number | null; report: DrillReport }> {
  const reportDir = join(dir, `reports-${++runs}`);
  const out = await runCli([
    'check',
    '--dump',
    dump,
    '--report-dir',
    reportDir,
    '--signing-key',
    keys.privatePath,
    ...args,
  ]);
  const file = (await readdir(reportDir)).find((name) => name.endsWith('.report.json'))!;
  const verified = await verifyReportFile(join(reportDir, file), loadPublicKey(keys.publicPath));
  return { code: out.code, report: verified.report! };
}

/** Production with a marker row edited by `forge`, dumped (with a manifest when asked), then cleaned up. */
async function backupWithMarker(
  name: string,
  forge: string,
  options: { manifest: boolean; also?: [string, string] },
): Promise<string> {
  await writeMarker(url);
  await shop.query(forge);
  if (options.also) await shop.query(options.also[0]);
  try {
    return options.manifest
      ? (await dumpWithManifest(url, join(dir, `${name}.dump`))).path
      : await shop.dump(join(dir, `${name}.dump`), 'custom');
  } finally {
    if (options.also) await shop.query(options.also[1]);
    await shop.query('drop schema restore_drill cascade');
  }
}

const rpoCheck = (report: DrillReport) => report.checks.find((c) => c.name === 'objective RPO')!;

test('a fresh dump with a 4-hour-old marker meets a 3-hour RPO: measured from the manifest, and the report says so', async () => {
  const dump = await backupWithMarker(
    'old-marker',
    "update restore_drill.markers set taken_at = now() - interval '4 hours'",
    { manifest: true },
  );
  const { code, report } = await check(dump, ['--rpo', '3h']);
  expect(report.objectives.rpo.basis).toBe('manifest');
  expect(report.objectives.rpo.actualSeconds).toBeLessThan(600);
  expect(rpoCheck(report)).toMatchObject({
    status: 'passed',
    detail: expect.stringMatching(/^measured from the dump's manifest \(.+\), the newest trusted evidence/),
  });
  expect(report.checks.find((c) => /^marker #\d+ trusted$/.test(c.name))).toMatchObject({ status: 'passed' });
  expect(report.status).toBe('passed');
  expect(code).toBe(0);
});

test('a future-dated marker with no tables, in a dump missing half a table: failed, named, and never the RPO', async () => {
  const dump = await backupWithMarker(
    'future-marker',
    "update restore_drill.markers set taken_at = now() + interval '10 years', tables = '{}'",
    {
      manifest: false,
      also: [
        'create table restore_drill.kept as select * from public.page_views where customer_id % 2 = 0; delete from public.page_views where customer_id % 2 = 0',
        'insert into public.page_views select * from restore_drill.kept',
      ],
    },
  );
  const { code, report } = await check(dump, ['--rpo', '3h']);
  const trust = report.checks.find((c) => /^marker #\d+ trusted$/.test(c.name));
  expect(trust).toMatchObject({
    status: 'failed',
    detail: expect.stringMatching(
      /in the future: after the drill started .*; it covers none of the 7 tables in the restored database/,
    ),
  });
  expect(report.objectives.rpo.basis).toBe('metadata');
  expect(report.objectives.rpo.actualSeconds).toBeGreaterThanOrEqual(0);
  // Every table the marker does not cover is listed as not verified.
  expect(report.notVerified?.map((n) => `${n.name} ${n.reason}`)).toEqual(
    expect.arrayContaining(['public.page_views no-marker', 'public.customers no-marker']),
  );
  expect(report.status).toBe('failed');
  expect(code).toBe(1);
});

test('a marker newer than the dump’s manifest contradicts it: failed, and the RPO is the manifest’s', async () => {
  const dump = await backupWithMarker(
    'newer-than-manifest',
    "update restore_drill.markers set taken_at = now() + interval '30 seconds'",
    { manifest: true },
  );
  const { report } = await check(dump, []);
  expect(report.checks.find((c) => /^marker #\d+ trusted$/.test(c.name))).toMatchObject({
    status: 'failed',
    detail: expect.stringMatching(/after the dump's own manifest/),
  });
  expect(report.objectives.rpo.basis).toBe('manifest');
  expect(report.status).toBe('failed');
});
