import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { findLocalLeftovers, removeLocalLeftover } from './leftovers.ts';

let parent: string | undefined;
afterEach(async () => {
  if (parent) await rm(parent, { recursive: true, force: true });
});

test('a cluster of a killed run is found and removed by cleanup; a foreign look-alike is left alone', async () => {
  parent = await mkdtemp(join(tmpdir(), 'leftovers-test-'));
  await chmod(parent, 0o755); // the cluster may run as an unprivileged user, who must reach it
  // A "run" that is SIGKILLed right after starting a cluster: a child process does the drill's start.
  const script = `
    import { localPostgres } from ${JSON.stringify(new URL('./local-postgres.ts', import.meta.url).pathname)};
    const env = await localPostgres({ parentDir: ${JSON.stringify(parent)} }).start({ runId: 'rdtest-kill', drillName: 'killed', log: () => {} });
    process.stdout.write('started\\n');
    setInterval(() => {}, 1000);
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d) => String(d).includes('started') && resolve());
    child.on('exit', (code) => reject(new Error(`child exited ${code}`)));
  });
  // A directory that looks like ours but carries no label: never ours to delete.
  const foreign = join(parent, 'restore-drill-foreign');
  await mkdir(join(foreign, 'data'), { recursive: true });
  await writeFile(join(foreign, 'data', 'PG_VERSION'), '15');

  expect(await findLocalLeftovers({ parentDir: parent })).toEqual([]); // owner alive: not a leftover
  const exited = new Promise((r) => child.on('exit', r));
  child.kill('SIGKILL');
  await exited;

  const leftovers = await findLocalLeftovers({ parentDir: parent });
  // The reaper may already be removing it; either it is listed, or it is gone already.
  for (const leftover of leftovers) {
    expect(leftover.label.runId).toBe('rdtest-kill');
    await removeLocalLeftover(leftover);
  }
  expect(leftovers.every((l) => !existsSync(l.location))).toBe(true);
  expect(existsSync(foreign)).toBe(true);
  expect(await findLocalLeftovers({ parentDir: parent })).toEqual([]);
});
