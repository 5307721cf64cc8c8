import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { spawn } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { generateKeyPair } from '../evidence/signing-key.ts';
import { startMotoServer, type MotoServer } from '../testing/moto-server.ts';
import { BIN, hasStackTrace, runCli, type CliOutcome } from '../testing/run-cli.ts';
import { markedShopDump } from '../testing/shop-database.ts';
import { SHARD_FILE, type ShardManifest } from './shard-manifest.ts';

// The scale simulation: 60 generated drills (policy-only ones and a few that restore a small dump) run as
// 6 shards in 6 separate `restore-drill run --shard i/6` processes into one evidence store (moto S3),
// then merged. Timings are measured and printed, never asserted.

const SHARDS = 6;
const DRILLS = 60;
const LAST = `db-${String(DRILLS).padStart(3, '0')}`;
const RESTORING = 3;
/** The drills the run without a store selects by their inventory tag (`run --tag`). */
const TAGGED = ['db-010', 'db-011', 'db-012'];
const repo = fileURLToPath(new URL('../../', import.meta.url));

let moto: MotoServer;
let project: string;
let keys: { privatePath: string; publicPath: string };
let env: Record<string, string>;
const shardDirs = Array.from({ length: SHARDS }, (_, i) => `shards/${i + 1}`);

beforeAll(async () => {
  project = await mkdtemp(join(tmpdir(), 'fleet-simulation-'));
  await markedShopDump(join(project, 'backups', 'shop', 'shop.dump'));
  moto = await startMotoServer();
  keys = generateKeyPair(join(project, 'keys'));
  // The generated drills import vitest from the project, as in a user's repository.
  await symlink(join(repo, 'node_modules'), join(project, 'node_modules'));
  env = {
    ...moto.env,
    AWS_CONFIG_FILE: join(project, 'none'),
    AWS_SHARED_CREDENTIALS_FILE: join(project, 'none'),
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
  const databases = Array.from({ length: DRILLS }, (_, i) => {
    const name = `db-${String(i + 1).padStart(3, '0')}`;
    return i < RESTORING
      ? `  - name: ${name}\n    source: { kind: file, path: backups/shop }\n    objectives: { rto: 1h, rpo: 1d }\n`
      : `  - name: ${name}\n    source: { kind: file, path: backups/shop }\n    restore: false\n${TAGGED.includes(name) ? '    tags: [no-store, sample]\n' : ''}`;
  });
  await writeFile(
    join(project, 'fleet.yaml'),
    `defaults:\n  policies: [{ kind: freshness, maxAge: 1d }]\n  controls: [SIM-1]\ndatabases:\n${databases.join('')}`,
  );
}, 300_000);

afterAll(async () => {
  await moto?.stop();
  if (project) await rm(project, { recursive: true, force: true });
});

const cli = (args: string[]) => runCli(args, { cwd: project, env });
const junitTests = (xml: string) => Number(/<testsuites[^>]* tests="(\d+)"/.exec(xml)?.[1]);
const manifest = async (dir: string) =>
  JSON.parse(await readFile(join(project, dir, SHARD_FILE), 'utf8')) as ShardManifest;

describe(`a fleet of ${DRILLS} drills as ${SHARDS} shards into one evidence store`, () => {
  const outcomes: CliOutcome[] = [];

  test(`generate, run ${SHARDS} shard processes at once, merge: one result, one unforked chain, JUnit = the sum of the shards`, async () => {
    const generated = await cli([
      'generate',
      '--inventory',
      'fleet.yaml',
      '--import-from',
      join(repo, 'src', 'index.ts'),
    ]);
    expect(generated.stdout).toContain(`${DRILLS} database(s): ${DRILLS} created`);

    const started = Date.now();
    // The shards run the GitHub workflow's own command (its matrix as local processes), with the
    // environment the workflow gives them; `npx restore-drill` is this checkout's CLI.
    const workflow = await githubWorkflow();
    outcomes.push(
      ...(await Promise.all(
        shardDirs.map((_, i) =>
          shell(workflow.shard, {
            SHARD: String(i + 1),
            SHARDS: String(SHARDS),
            RESTORE_DRILL_EVIDENCE: 's3://evidence/fleet/',
            RESTORE_DRILL_FLEET_RUN: 'sim-1',
            RESTORE_DRILL_SIGNING_KEY: keys.privatePath,
          }),
        ),
      )),
    );
    const wall = (Date.now() - started) / 1000;
    for (const [i, outcome] of outcomes.entries()) {
      expect(outcome.stderr, `shard ${i + 1}`).not.toMatch(/error/i);
      expect(outcome.code, `shard ${i + 1}: ${outcome.stdout.slice(-2000)}`).toBe(0);
    }

    // Every file ran in exactly one shard, and the shards agree on the plan.
    const manifests = await Promise.all(shardDirs.map(manifest));
    const assigned = manifests.flatMap((m) => m.assigned).sort();
    expect(assigned).toHaveLength(DRILLS);
    expect(new Set(assigned).size).toBe(DRILLS);
    expect(new Set(manifests.map((m) => m.plan.digest)).size).toBe(1);
    expect(manifests.every((m) => m.finishedAt !== null && m.end === 'passed')).toBe(true);
    const shardJunit = await Promise.all(
      shardDirs.map(async (dir) => junitTests(await readFile(join(project, dir, 'junit.xml'), 'utf8'))),
    );

    const merged = await shell(workflow.merge, {
      SHARDS: String(SHARDS),
      PUBLIC_KEY: keys.publicPath,
      RESTORE_DRILL_EVIDENCE: 's3://evidence/fleet/',
    });
    const timings = JSON.parse(await readFile(join(project, 'merged', 'timings.json'), 'utf8')) as {
      drills: Record<string, number>;
    };
    expect(Object.keys(timings.drills)).toHaveLength(DRILLS);
    const seconds = Object.values(timings.drills);
    const restoring = Object.entries(timings.drills)
      .filter(([file]) => /db-00[1-3]\.drill\.ts$/.test(file))
      .map(([, s]) => s);
    // Measured, for docs/fleet.md's estimate; printed, not asserted.
    process.stdout.write(
      `fleet simulation: ${DRILLS} drills as ${SHARDS} shard processes took ${wall.toFixed(1)} s wall; per drill mean ${(seconds.reduce((a, b) => a + b, 0) / seconds.length).toFixed(1)} s, ` +
        `restoring drills ${restoring.map((s) => s.toFixed(1)).join(', ')} s\n`,
    );
    expect(merged.stderr).toBe('');
    expect(merged.stdout).toContain(
      `${SHARDS} shard(s), ${SHARDS} merged: ${DRILLS} drill(s): ${DRILLS} passed, 0 failed, 0 not run`,
    );
    expect(merged.stdout).toContain(`ledger: s3://evidence/fleet/: one chain, verified unbroken to position ${DRILLS}`);
    expect(merged.code).toBe(0);
    const junit = await readFile(join(project, 'merged', 'junit.xml'), 'utf8');
    // One test suite per drill; the test cases (one per check) add up to the shards'.
    expect(junit.match(/<testsuite /g)).toHaveLength(DRILLS);
    expect(junitTests(junit)).toBe(shardJunit.reduce((a, b) => a + b, 0));
    expect(await readFile(join(project, 'merged', 'controls.md'), 'utf8')).toContain('SIM-1');
    expect(await readFile(join(project, 'merged', 'index.html'), 'utf8')).toContain(LAST);
    const fleet = JSON.parse(await readFile(join(project, 'merged', 'fleet.json'), 'utf8')) as unknown;
    expect(fleet).toMatchObject({
      passed: true,
      count: SHARDS,
      missing: [],
      drills: { total: DRILLS, passed: DRILLS, notRun: 0 },
    });

    // Without the directories (Kubernetes, AWS Batch): the manifests the shards kept in the store.
    const fromStore = await cli([
      'merge',
      '--evidence',
      's3://evidence/fleet/',
      '--fleet-run',
      'sim-1',
      '--expect-shards',
      String(SHARDS),
      '--out',
      'merged-store',
      '--key',
      keys.publicPath,
    ]);
    expect(fromStore.stdout).toContain(
      `${SHARDS} shard(s), ${SHARDS} merged: ${DRILLS} drill(s): ${DRILLS} passed, 0 failed, 0 not run`,
    );
    expect(fromStore.code).toBe(0);
    expect(
      (await readFile(join(project, 'merged-store', 'junit.xml'), 'utf8')).replaceAll('merged-store/', 'merged/'),
    ).toBe(junit);

    // The store's chain, verified on its own: one position per drill, no fork.
    const verified = await cli(['verify', '--evidence', 's3://evidence/fleet/', '--key', keys.publicPath]);
    expect(verified.stdout, verified.stdout + verified.stderr).toMatch(/valid/);
    expect(verified.code).toBe(0);

    // The next run balances by those timings: the heavy restoring drills land on different shards.
    const replanned = await cli([
      'run',
      '--shard',
      `1/${SHARDS}`,
      '--report-dir',
      'replan',
      '--timings',
      'merged/timings.json',
      '--signing-key',
      keys.privatePath,
      `drills/fleet/${LAST}.drill.ts`,
    ]);
    expect(replanned.code).toBe(0);
    expect((await manifest('replan')).plan.balancedBy).toBe('timings');
  }, 900_000);

  test('run --tag without an evidence store: each shard keeps its own chain, merge verifies each against the head its shard recorded', async () => {
    // The drills are selected by the tag the inventory gave them, as a team would run one tier.
    const runs = await Promise.all(
      [1, 2].map((i) =>
        cli([
          'run',
          '--shard',
          `${i}/2`,
          '--report-dir',
          `local/${i}`,
          '--signing-key',
          keys.privatePath,
          '--tag',
          'no-store',
        ]),
      ),
    );
    expect(runs.map((r) => r.code)).toEqual([0, 0]);
    const ran = (await Promise.all([manifest('local/1'), manifest('local/2')])).flatMap((m) => m.assigned).sort();
    expect(ran).toEqual(TAGGED.map((name) => `drills/fleet/${name}.drill.ts`));
    const merged = await cli([
      'merge',
      'local/1',
      'local/2',
      '--expect-shards',
      '2',
      '--out',
      'merged-local',
      '--key',
      keys.publicPath,
    ]);
    expect(merged.stdout).toContain('2 shard(s), 2 merged: 3 drill(s): 3 passed, 0 failed, 0 not run');
    expect(merged.stdout).toContain(
      'ledger: 2 shard chain(s), one per shard (no evidence store), each verified unbroken to the head its shard recorded',
    );
    expect(merged.code).toBe(0);
    // A report removed from the end of one shard's chain is caught against the head that shard recorded.
    const m = await manifest('local/1');
    const newest = m.results.map((r) => r.drill).sort((a, b) => b.ledger!.position - a.ledger!.position)[0]!;
    await rm(join(project, 'local/1', newest.reportPath.split('/').at(-1)!));
    const cut = await cli(['merge', 'local/1', 'local/2', '--out', 'merged-cut', '--key', keys.publicPath]);
    expect(cut.code).toBe(1);
    expect(cut.stdout).toMatch(/✗ shard 1\/2: drill ".*": .* is missing/);
  }, 300_000);

  test('a lost shard fails the merge and its drills are named as not run', async () => {
    const lost = manifestOf(3);
    const merged = await cli([
      'merge',
      ...shardDirs.filter((d) => d !== 'shards/3'),
      '--expect-shards',
      String(SHARDS),
      '--out',
      'merged-lost',
    ]);
    expect(merged.code).toBe(1);
    expect(merged.stdout).toContain(`MISSING 3/${SHARDS}`);
    expect(merged.stdout).toContain(`✗ shard 3/${SHARDS} is missing: no directory holds its shard.json`);
    for (const file of (await lost).assigned)
      expect(merged.stdout).toContain(`✗ ${file} — not run: shard 3/${SHARDS} is missing`);
    expect(await readFile(join(project, 'merged-lost', 'summary.md'), 'utf8')).toMatch(
      new RegExp(`\\| 3/${SHARDS} \\| — \\| — \\| ❌ MISSING \\|`),
    );
  });

  test('a shard killed half-way (SIGKILL): its reports are merged, the drills it did not run are named', async () => {
    // A shard of its own (1 of 1), killed with its workers once its first drill is recorded, as a node
    // lost or an OOM kill would end it: no handler runs, nothing is written at the end.
    const files = Array.from({ length: 5 }, (_, i) => `drills/fleet/db-${String(13 + i).padStart(3, '0')}.drill.ts`);
    const shard = spawn(
      process.execPath,
      [BIN, 'run', '--shard', '1/1', '--report-dir', 'crashed/1', '--signing-key', keys.privatePath, ...files],
      { cwd: project, env: { ...process.env, ...env, NODE_NO_WARNINGS: '1' }, stdio: 'ignore', detached: true },
    );
    const ended = new Promise<NodeJS.Signals | null>((resolve) => shard.once('exit', (_, signal) => resolve(signal)));
    for (;;) {
      const recorded = await manifest('crashed/1').catch(() => null);
      if (recorded && recorded.results.length > 0) break;
      if (shard.exitCode !== null) throw new Error(`the shard ended (${shard.exitCode}) before it could be killed`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    process.kill(-shard.pid!, 'SIGKILL');
    expect(await ended).toBe('SIGKILL');
    const m = await manifest('crashed/1');
    expect(m.finishedAt).toBeNull();
    const ran = m.results.map((r) => r.file);
    const notRun = m.assigned.filter((f) => !ran.includes(f));
    expect(notRun.length).toBeGreaterThan(0);

    const merged = await cli(['merge', 'crashed/1', '--expect-shards', '1', '--out', 'merged-crashed']);
    expect(merged.code).toBe(1);
    expect(merged.stdout).toContain('✗ shard 1/1 (crashed/1) did not finish: it crashed or was killed half-way');
    for (const file of notRun)
      expect(merged.stdout).toContain(`✗ ${file} — not run: shard 1/1 crashed before running it`);
    expect(merged.stdout).toContain(`${ran.length} passed, 0 failed, ${notRun.length} not run`);
  });

  test('bad input: shard out of range, two shards with one index, a different count, a directory that is no shard', async () => {
    for (const [shard, message] of [
      [
        '0/6',
        /--shard 0\/6: index 0 is out of range 1\.\.6 — shards count from 1; with a 0-based index .* pass \$\(\(INDEX \+ 1\)\)/,
      ],
      ['7/6', /--shard 7\/6: index 7 is out of range 1\.\.6/],
      ['two', /bad --shard "two"/],
    ] as const) {
      const run = await cli(['run', '--shard', shard, '--report-dir', 'never']);
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(message);
      expect(hasStackTrace(run.stderr)).toBe(false);
    }
    await cp(join(project, 'shards/2'), join(project, 'twin/2'), { recursive: true });
    const twin = await cli(['merge', ...shardDirs, 'twin/2', '--out', 'merged-twin']);
    expect(twin.code).toBe(2);
    expect(twin.stderr).toContain(`shards/2 and twin/2 are both shard 2/${SHARDS}`);
    const count = await cli(['merge', ...shardDirs, '--expect-shards', '16', '--out', 'merged-count']);
    expect(count.code).toBe(2);
    expect(count.stderr).toContain(`--expect-shards 16, but the shards were run as ${SHARDS}`);
    // A second job with an index already taken in this fleet run stops before running anything.
    const again = await cli([
      'run',
      '--shard',
      `2/${SHARDS}`,
      '--report-dir',
      'again',
      '--evidence',
      's3://evidence/fleet/',
      '--fleet-run',
      'sim-1',
      '--signing-key',
      keys.privatePath,
    ]);
    expect(again.code).toBe(2);
    expect(again.stdout + again.stderr).toContain(
      `shard 2/${SHARDS} of this fleet run was already started by another job`,
    );
    const none = await cli(['merge', 'backups', '--out', 'merged-none']);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain("backups is not a shard's report directory: no shard.json");
    expect(hasStackTrace(twin.stderr + count.stderr + none.stderr)).toBe(false);
  }, 300_000);
});

/** The `run` scripts of the GitHub workflow's shard and merge steps. */
async function githubWorkflow(): Promise<{ shard: string; merge: string }> {
  type Steps = { steps: { name?: string; run?: string }[] };
  const workflow = parse(await readFile(join(repo, 'recipes/github-actions/restore-drill-fleet.yml'), 'utf8')) as {
    jobs: Record<string, Steps>;
  };
  const script = (job: string, name: string) => workflow.jobs[job]!.steps.find((s) => s.name === name)!.run!;
  return { shard: script('shard', 'Run the shard'), merge: script('merge', 'Merge the shards') };
}

/** Runs a workflow script in the project with bash, as the runner would, `npx restore-drill` being this checkout's CLI. */
function shell(script: string, extra: Record<string, string>): Promise<CliOutcome> {
  const local = script.replaceAll('npx restore-drill', `${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)}`);
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-euo', 'pipefail', '-c', local], {
      cwd: project,
      env: { ...process.env, ...env, ...extra, NODE_NO_WARNINGS: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

function manifestOf(index: number): Promise<ShardManifest> {
  return manifest(`shards/${index}`);
}
