import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { sampleDrillMeta } from '../views/ci-summary.fixture.ts';
import type { CiRun } from '../views/ci-summary.ts';
import { CI_STATE_FILE, withConcurrentRuns } from './ci-run-state.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ci-run-state-test-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const runOf = (name: string): CiRun => ({
  drills: [sampleDrillMeta({ name, reportPath: `${name}.report.json` })],
  notRun: [],
});
const names = (run: CiRun) => run.drills.map((d) => d.name);
const merge = (run: CiRun, startedAt: Date) => withConcurrentRuns(dir, run, startedAt, async (all) => all);

test('processes that overlap each get every drill; the last writer lists all of them', async () => {
  const start = new Date(Date.now() - 1000);
  expect(names(await merge(runOf('a'), start))).toEqual(['a']);
  expect(names(await merge(runOf('b'), start))).toEqual(['a', 'b']);
  expect(names(await merge({ ...runOf('c'), notRun: [{ name: 'd', reason: 'syntax error' }] }, start))).toEqual([
    'a',
    'b',
    'c',
  ]);
  const last = await merge(runOf('e'), start);
  expect(names(last)).toEqual(['a', 'b', 'c', 'e']);
  expect(last.notRun).toEqual([{ name: 'd', reason: 'syntax error' }]);
});

test('a run that starts after the others finished starts afresh', async () => {
  await merge(runOf('yesterday'), new Date(Date.now() - 1000));
  await new Promise((r) => setTimeout(r, 5));
  expect(names(await merge(runOf('today'), new Date()))).toEqual(['today']);
});

test('a state file that is not ours is ignored', async () => {
  await writeFile(join(dir, CI_STATE_FILE), '{"entries": [{"finishedAt": 3}], "x": ');
  expect(names(await merge(runOf('a'), new Date(0)))).toEqual(['a']);
  expect(JSON.parse(await readFile(join(dir, CI_STATE_FILE), 'utf8')).entries).toHaveLength(1);
});
