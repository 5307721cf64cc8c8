import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { processAlive } from '../labels.ts';
import { LABEL_FILE } from './local-postgres.ts';
import { startReaper } from './reaper.ts';

const started: ChildProcess[] = [];
let parent: string | undefined;
afterEach(async () => {
  for (const child of started.splice(0)) child.kill('SIGKILL');
  if (parent) await rm(parent, { recursive: true, force: true });
});

function startProcess(script: string, ...args: string[]): ChildProcess {
  const child = spawn('sh', ['-c', script, 'reaper-test', ...args], { stdio: 'ignore' });
  started.push(child);
  return child;
}

async function until(condition: () => boolean, seconds: number): Promise<boolean> {
  for (let i = 0; i < seconds * 10 && !condition(); i++) await new Promise((r) => setTimeout(r, 100));
  return condition();
}

test('when its owner dies, the reaper ends a tool still writing into the directory and removes all of it', async () => {
  parent = await mkdtemp(join(tmpdir(), 'reaper-test-'));
  const dir = join(parent, 'restore-drill-rdtest-reaper');
  await mkdir(join(dir, 'data'), { recursive: true });
  await writeFile(join(dir, LABEL_FILE), '{}');
  // Like a `cp -Rp` of the template that outlived a SIGKILLed run: it keeps creating files under the
  // directory, so a plain `rm -rf` would fail with "Directory not empty".
  const writer = startProcess('i=0; while :; do : > "$1/f$i" 2>/dev/null; i=$((i+1)); done', join(dir, 'data'));
  const bystander = startProcess('sleep 60', join(parent, 'restore-drill-rdtest-reaper-other'));
  const owner = startProcess('sleep 60');
  startReaper(owner.pid!, dir);
  await new Promise((r) => setTimeout(r, 300));
  expect(existsSync(dir)).toBe(true); // owner alive: nothing happens

  owner.kill('SIGKILL');
  expect(await until(() => !existsSync(dir), 20)).toBe(true);
  expect(await until(() => writer.exitCode !== null || writer.signalCode !== null, 5)).toBe(true);
  expect(writer.signalCode).toBe('SIGKILL');
  // A process naming a different path that merely starts with the same characters is not ours.
  expect(processAlive(bystander.pid!)).toBe(true);
  expect(bystander.exitCode).toBeNull();
});
