import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, lstatSync, readdirSync, readFileSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { processAlive } from '../../util/process-alive.ts';
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

describe('a symlink swapped in at any step never makes the reaper delete anything outside the directory', () => {
  /** Another user's files that a planted symlink points at. */
  async function victim(): Promise<string> {
    const dir = join(parent!, 'victim');
    await mkdir(join(dir, 'deep'), { recursive: true });
    await writeFile(join(dir, 'precious'), 'keep me');
    await writeFile(join(dir, 'deep', 'precious'), 'keep me too');
    await writeFile(join(dir, LABEL_FILE), 'not ours');
    return dir;
  }
  const intact = (dir: string) =>
    existsSync(join(dir, 'precious')) &&
    existsSync(join(dir, 'deep', 'precious')) &&
    readFileSync(join(dir, LABEL_FILE), 'utf8') === 'not ours';

  /** A reaper for a fresh directory whose owner is killed at once; `swap` runs (as a shell command) at `step`. */
  async function reap(step: string, swap: string): Promise<{ dir: string; victim: string }> {
    parent = await mkdtemp(join(tmpdir(), 'reaper-test-'));
    const target = await victim();
    const dir = join(parent, 'restore-drill-rdtest-swap');
    await mkdir(join(dir, 'data', 'base'), { recursive: true });
    await writeFile(join(dir, 'data', 'base', 'file'), 'ours');
    await writeFile(join(dir, LABEL_FILE), '{}');
    const hook = join(parent, 'hook.sh');
    await writeFile(
      hook,
      `#!/bin/sh\n[ "$1" = ${JSON.stringify(step)} ] || exit 0\nvictim=${JSON.stringify(target)}\n${swap}\n`,
      { mode: 0o755 },
    );
    const owner = startProcess('sleep 60');
    const reaper = startReaper(owner.pid!, dir, hook)!;
    owner.kill('SIGKILL');
    expect(await until(() => !processAlive(reaper), 20)).toBe(true);
    return { dir, victim: target };
  }

  test('the directory itself, replaced by a symlink before the reaper enters it: nothing is removed', async () => {
    const { dir, victim } = await reap('owner-gone', 'mv "$2" "$2.moved" && ln -s "$victim" "$2"');
    expect(intact(victim)).toBe(true);
    expect(readdirSync(`${dir}.moved`).sort()).toEqual(['data', LABEL_FILE]);
  });

  test('the directory itself, replaced by another directory holding a symlink: not the one the owner made, nothing is removed', async () => {
    const { dir, victim } = await reap('owner-gone', 'mv "$2" "$2.moved" && mkdir "$2" && ln -s "$victim" "$2/data"');
    expect(intact(victim)).toBe(true);
    expect(readdirSync(dir)).toEqual(['data']);
  });

  test('the directory itself, swapped after the reaper entered it: its contents go, the symlink and what it points to stay', async () => {
    const { dir, victim } = await reap('anchored', 'mv "$2" "$2.moved" && ln -s "$victim" "$2"');
    expect(intact(victim)).toBe(true);
    expect(readdirSync(`${dir}.moved`)).toEqual([]);
    expect(lstatSync(dir).isSymbolicLink()).toBe(true);
  });

  test('a child, swapped for a symlink right before it is removed: the link goes, not its target', async () => {
    const { dir, victim } = await reap('remove data', 'mv data data.moved && ln -s "$victim" data');
    expect(intact(victim)).toBe(true);
    expect(readdirSync(dir)).toEqual(['data.moved']); // the link went; what was moved aside after the listing stays
  });

  test('the label, swapped for a symlink right before it is removed: the link goes, not its target', async () => {
    const { dir, victim } = await reap('label', `rm ${LABEL_FILE} && ln -s "$victim/${LABEL_FILE}" ${LABEL_FILE}`);
    expect(intact(victim)).toBe(true);
    expect(existsSync(dir)).toBe(false);
  });

  test('the directory, swapped right before its own removal: the name is left to whatever holds it now', async () => {
    const { dir, victim } = await reap('rmdir', 'mv "$2" "$2.moved" && mkdir "$2" && ln -s "$victim" "$2/link"');
    expect(intact(victim)).toBe(true);
    expect(readdirSync(dir)).toEqual(['link']);
    expect(readdirSync(`${dir}.moved`)).toEqual([]);
  });
});

test.skipIf(process.getuid?.() !== 0)(
  "as root, the reaper empties another account's folder with that account's rights: a third account's directory moved into it stays",
  async () => {
    parent = await mkdtemp(join(tmpdir(), 'reaper-test-'));
    const dir = join(parent, 'restore-drill-rdtest-owner');
    const server = 1879048202; // the server's account owns data/
    const third = 1879048203; // a directory of another account, moved into data/ by the server's account
    await mkdir(join(dir, 'data', 'victim'), { recursive: true });
    await writeFile(join(dir, 'data', 'own'), 'the server account may delete this');
    await writeFile(join(dir, 'data', 'victim', 'precious'), 'keep me');
    await writeFile(join(dir, LABEL_FILE), '{}');
    await chmod(dir, 0o711);
    await chown(join(dir, 'data'), server, server);
    await chown(join(dir, 'data', 'own'), server, server);
    await chown(join(dir, 'data', 'victim'), third, third);
    await chown(join(dir, 'data', 'victim', 'precious'), third, third);
    const owner = startProcess('sleep 60');
    const reaper = startReaper(owner.pid!, dir)!;
    owner.kill('SIGKILL');
    expect(await until(() => !processAlive(reaper), 20)).toBe(true);
    expect(readFileSync(join(dir, 'data', 'victim', 'precious'), 'utf8')).toBe('keep me');
    expect(readdirSync(join(dir, 'data'))).toEqual(['victim']);
  },
);
