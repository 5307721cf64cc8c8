// The way a team adopts restore-drill: pack the tarball, install it into a fresh project with its own Vitest,
// `init`, point the scaffolded drill at a real dump and run it. Catches what only an installed package shows:
// files missing from the tarball, imports of TypeScript sources, paths that assume this repository's layout.
import { execFile } from 'node:child_process';
import { readdir, readFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startShopDatabase, type ShopDatabase } from '../src/testing/shop-database.ts';
import { connectionUrl } from '../src/testing/connection-url.ts';

const run = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));
const vitestVersion: string = JSON.parse(
  await readFile(join(root, 'node_modules', 'vitest', 'package.json'), 'utf8'),
).version;

let work: string;
let project: string;
let tarball: string;
let shop: ShopDatabase;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'package-test-'));
  project = join(work, 'app');
  // The package's build (what `prepack` runs), then `npm pack` without lifecycle scripts: its `prepare` would
  // rebuild the repository's own CLI bundle (build/cli, not part of the package) under the CLI processes other
  // test files are running, which then fail to load a chunk (CI saw it). The tarball is the only .tgz there.
  await run('npm', ['run', 'build:package'], { cwd: root, maxBuffer: 64 << 20 });
  await run('npm', ['pack', '--ignore-scripts', '--pack-destination', work], { cwd: root, maxBuffer: 64 << 20 });
  tarball = join(
    work,
    (await readdir(work)).find((f) => f.endsWith('.tgz'))!,
  );
  await run('mkdir', ['-p', project]);
  await writeFile(join(project, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
  // The project's own Vitest, as a team that already tests with it has; restore-drill must use that one.
  await run('npm', ['install', tarball, `vitest@${vitestVersion}`, '--prefer-offline', '--no-audit', '--no-fund'], {
    cwd: project,
    maxBuffer: 64 << 20,
  });
  shop = await startShopDatabase();
}, 600_000);

afterAll(async () => {
  await shop?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

test('the tarball holds the compiled library, the CLI, the docs and the IAM policy, and no sources or tests', async () => {
  const { stdout } = await run('tar', ['tzf', tarball]);
  const files = stdout.trim().split('\n');
  expect(files).toContain('package/dist/index.js');
  expect(files).toContain('package/dist/index.d.ts');
  expect(files).toContain('package/bin/restore-drill.js');
  expect(files).toContain('package/README.md');
  expect(files).toContain('package/iam/restore-drill-policy.json');
  expect(files.filter((f) => /^package\/(src|fixtures|scripts|drills)\//.test(f))).toEqual([]);
  expect(files.filter((f) => /\.test\.|testkit|\.fixture\./.test(f))).toEqual([]);
  expect(files.filter((f) => /\.pem$/.test(f))).toEqual([]);
});

test('init scaffolds a repository whose drill runs against a real dump and signs a verifiable report', async () => {
  const bin = join(project, 'node_modules', '.bin', 'restore-drill');
  const env = { ...process.env, CI: '', RESTORE_DRILL_SIGNING_KEY: '', NODE_NO_WARNINGS: '1' };
  const init = await run(bin, ['init'], { cwd: project, env });
  expect(init.stdout).toMatch(/created\s+drills\/example\.drill\.ts/);
  expect(init.stdout).toMatch(/created\s+vitest\.config\.ts/);
  expect(init.stdout).toMatch(/created\s+\.github\/workflows\/restore-drill\.yml/);
  expect(await readFile(join(project, '.gitignore'), 'utf8')).toMatch(/^\/reports\/\*$/m);
  // A second init changes nothing the team has edited.
  expect((await run(bin, ['init'], { cwd: project, env })).stdout).toMatch(/kept\s+drills\/example\.drill\.ts/);

  await run(bin, ['keygen', '--out', join(project, 'keys')], { cwd: project, env });
  await run(
    bin,
    [
      'dump',
      '--url',
      connectionUrl(shop.environment.connectionConfig()),
      '--out',
      join(project, 'backups', 'app.dump'),
    ],
    {
      cwd: project,
      env,
    },
  );
  const drillEnv = { ...env, RESTORE_DRILL_SIGNING_KEY: join(project, 'keys', 'signing-key.pem') };
  const drill = await run(bin, ['run'], { cwd: project, env: drillEnv, maxBuffer: 64 << 20 }).catch(
    (error: { stdout: string; stderr: string; code: number }) => error,
  );
  expect(drill.stdout + drill.stderr).toMatch(/passed/);
  expect('code' in drill ? drill.code : 0).toBe(0);
  const reports = (await readdir(join(project, 'reports'))).filter((f) => f.endsWith('.report.json'));
  expect(reports).toHaveLength(1);
  const verify = await run(
    bin,
    ['verify', join(project, 'reports', reports[0]!), '--key', join(project, 'keys', 'signing-key.pub.pem')],
    { cwd: project, env },
  );
  expect(verify.stdout).toMatch(/valid/i);
}, 600_000);
