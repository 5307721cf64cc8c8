// Drills side by side must not collide on ports, directories, names or report files, and the report
// directory's ledger must stay one unbroken chain.
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { verifyLedger, verifyReportFile } from '../evidence/report-verifier.ts';
import { generateKeyPair, loadPublicKey } from '../evidence/signing-key.ts';
import { runCli } from '../testing/run-cli.ts';
import { markedShopDump } from '../testing/shop-database.ts';

let dir: string;
let dump: string;
let keys: { privatePath: string; publicPath: string };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'concurrency-test-'));
  keys = generateKeyPair(join(dir, 'keys'));
  dump = await markedShopDump(join(dir, 'backups', 'shop.dump'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('three check processes at once into one report directory: all pass, three reports, one unbroken ledger', async () => {
  const reports = join(dir, 'shared-reports');
  const outs = await Promise.all(
    [1, 2, 3].map(() =>
      runCli([
        'check',
        '--dump',
        dump,
        '--name',
        'same name',
        '--report-dir',
        reports,
        '--signing-key',
        keys.privatePath,
      ]),
    ),
  );
  expect(outs.map((o) => o.code)).toEqual([0, 0, 0]);
  const sockets = outs.map((o) => /listening on (\/\S+)/.exec(o.stderr)?.[1]);
  expect(sockets.every(Boolean)).toBe(true);
  expect(new Set(sockets).size).toBe(3);
  const names = (await readdir(reports)).filter((n) => n.endsWith('.report.json'));
  expect(names).toHaveLength(3);
  const key = loadPublicKey(keys.publicPath);
  const runIds = new Set<string>();
  for (const name of names) runIds.add((await verifyReportFile(join(reports, name), key)).report!.runId);
  expect(runIds.size).toBe(3);
  expect(await verifyLedger(reports, key)).toMatchObject({ valid: true, problems: [] });
  // The CI files of the last one to finish list all three drills, not only its own.
  const junit = await readFile(join(reports, 'junit.xml'), 'utf8');
  expect(junit.match(/<testsuite /g)).toHaveLength(3);
  const summary = await readFile(join(reports, 'summary.md'), 'utf8');
  expect(summary).toMatch(/all 3 drills passed/);
});

test('two run processes side by side, each with two drill files, into one report directory: all pass, one unbroken ledger', async () => {
  const project = join(dir, 'two-runs');
  // One run finds its files under drills/ (several drill files in one run), the other's live outside drills/:
  // files named on the command line run wherever they are.
  await mkdir(join(project, 'drills', 'a'), { recursive: true });
  await mkdir(join(project, 'elsewhere', 'b'), { recursive: true });
  const index = fileURLToPath(new URL('../index.ts', import.meta.url));
  for (const [folder, n] of [
    ['a', 1],
    ['a', 2],
    ['b', 3],
    ['b', 4],
  ] as const) {
    await writeFile(
      join(project, folder === 'a' ? 'drills' : 'elsewhere', folder, `shop-${n}.drill.ts`),
      `import { drill, fileSource } from ${JSON.stringify(index)};\ndrill('shop ${n}', { source: fileSource(${JSON.stringify(dump)}) });\n`,
    );
  }
  const reports = join(project, 'reports');
  const [a, b] = await Promise.all(
    ['a', 'b'].map((folder) =>
      runCli(
        [
          'run',
          ...(folder === 'a' ? [] : ['elsewhere/b/shop-3.drill.ts', 'elsewhere/b/shop-4.drill.ts']),
          '--report-dir',
          reports,
          '--signing-key',
          keys.privatePath,
        ],
        { cwd: project },
      ),
    ),
  );
  for (const out of [a!, b!]) {
    expect(out.stdout, out.stderr).toMatch(/2 drills: 2 passed, 0 failed/);
    expect(out.code).toBe(0);
  }
  const key = loadPublicKey(keys.publicPath);
  const names = (await readdir(reports)).filter((n) => n.endsWith('.report.json'));
  expect(names).toHaveLength(4);
  const drills = new Set<string>();
  for (const name of names) drills.add((await verifyReportFile(join(reports, name), key)).report!.drill.name);
  expect([...drills].sort()).toEqual(['shop 1', 'shop 2', 'shop 3', 'shop 4']);
  expect(await verifyLedger(reports, key)).toMatchObject({ valid: true, problems: [] });
});
