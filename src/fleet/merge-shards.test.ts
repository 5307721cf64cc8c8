import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { writeReport } from '../drill/report-writer.ts';
import { sampleDrillMeta } from '../views/ci-summary.fixture.ts';
import { newSigningKey, pastReport } from '../views/history.testkit.ts';
import { mergeShards, readShardDirs } from './merge-shards.ts';
import { SHARD_FILE, type ShardManifest } from './shard-manifest.ts';
import { planShards } from './shard-plan.ts';
import { TIMINGS_FILE } from './shard-timings.ts';
import { writeMergedFleet } from './write-merged.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fleet-merge-test-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A one-shard run whose signed report says `signed`, and whose (unsigned) shard.json claims `claimed`. */
async function shardWith(name: string, signed: 'passed' | 'failed', claimed: 'passed' | 'failed'): Promise<string> {
  const reportDir = join(dir, name);
  const at = new Date().toISOString();
  const written = await writeReport({
    report: { ...pastReport({ name, runs: [] }, { at, restoreSeconds: 10 }), status: signed },
    reportDir,
    key: newSigningKey(),
  });
  const plan = planShards([`drills/${name}.drill.ts`], {}, 1);
  const manifest: ShardManifest = {
    version: 1,
    shard: { index: 1, count: 1 },
    plan: { digest: plan.digest, balancedBy: plan.balancedBy, files: [...plan.files], weights: { ...plan.weights } },
    assigned: [...plan.shards[0]!],
    evidence: null,
    startedAt: at,
    finishedAt: at,
    end: 'passed',
    results: [
      {
        file: `drills/${name}.drill.ts`,
        drill: sampleDrillMeta({ name, status: claimed, reportPath: written.jsonPath, ledger: written.head }),
      },
    ],
    notRun: [],
  };
  await writeFile(join(reportDir, SHARD_FILE), JSON.stringify(manifest));
  return reportDir;
}

test("a shard's record is counted only as its signed report says: a failed drill recorded as passed is a problem, not a pass", async () => {
  const honest = await mergeShards(await readShardDirs([await shardWith('honest', 'passed', 'passed')]));
  expect(honest.problems).toEqual([]);
  expect(honest.drills.map((d) => d.drill.status)).toEqual(['passed']);

  const lying = await mergeShards(await readShardDirs([await shardWith('lying', 'failed', 'passed')]));
  expect(lying.drills).toEqual([]);
  expect(lying.problems).toEqual([
    expect.stringMatching(
      /^shard 1\/1: drill "lying": \S+-lying\.report\.json says failed, but the shard recorded passed$/,
    ),
  ]);
  expect(lying.notRun.map((n) => n.name)).toEqual(['lying']);
});

test('a merge that fails leaves timings.json as the last passing merge wrote it', async () => {
  const out = join(dir, 'merged');
  const warnings: string[] = [];
  const warn = (line: string) => warnings.push(line);
  const good = await writeMergedFleet(
    await mergeShards(await readShardDirs([await shardWith('on-time', 'passed', 'passed')])),
    { out, warn },
  );
  expect(good.passed).toBe(true);
  const before = await readFile(join(out, TIMINGS_FILE), 'utf8');
  expect(Object.keys((JSON.parse(before) as { drills: object }).drills)).toEqual(['drills/on-time.drill.ts']);

  const bad = await writeMergedFleet(
    await mergeShards(await readShardDirs([await shardWith('broken', 'failed', 'passed')])),
    { out, warn },
  );
  expect(bad.passed).toBe(false);
  expect(await readFile(join(out, TIMINGS_FILE), 'utf8')).toBe(before);
  expect(bad.written.map((path) => basename(path))).not.toContain(TIMINGS_FILE);
  expect(warnings).toEqual(['restore-drill: timings.json not updated: the merge did not pass']);
});
