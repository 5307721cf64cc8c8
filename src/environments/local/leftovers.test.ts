import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, chown, link, mkdir, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { NO_ENGINE, runCli } from '../../testing/run-cli.ts';
import { findLocalLeftovers, removeLocalLeftover } from './leftovers.ts';
import { LABEL_FILE } from './local-postgres.ts';

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
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
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

describe('traps: nothing that is not provably ours is deleted', () => {
  const isRoot = process.getuid?.() === 0;
  const nobody = { uid: 65534, gid: 65534 };
  /** A pid above any pid_max: its owner is gone. */
  const deadPid = 2_147_483_646;
  const label = (runId: string) =>
    JSON.stringify({
      tool: 'restore-drill',
      kind: 'local-postgres',
      runId,
      drillName: 'trap',
      ownerPid: deadPid,
      createdAt: '2026-01-01T00:00:00Z',
    });

  /** Another user's files (made by root, handed to `nobody`), which cleanup must never reach. */
  async function victim(root: string): Promise<string> {
    const dir = join(root, 'victim');
    await mkdir(join(dir, 'deep'), { recursive: true });
    await writeFile(join(dir, 'precious.txt'), 'keep me');
    await writeFile(join(dir, 'deep', 'more.txt'), 'keep me too');
    // A genuine-looking label in it, so only the symlink check stands between cleanup and these files.
    await writeFile(join(dir, LABEL_FILE), label('victim'));
    if (isRoot)
      for (const p of [dir, join(dir, 'deep'), join(dir, 'precious.txt'), join(dir, 'deep', 'more.txt')])
        await chown(p, nobody.uid, nobody.gid);
    return dir;
  }

  const intact = (dir: string) =>
    existsSync(join(dir, 'precious.txt')) &&
    existsSync(join(dir, 'deep', 'more.txt')) &&
    existsSync(join(dir, LABEL_FILE));

  test('a restore-drill-* symlink to another directory is skipped and nothing is deleted through it', async () => {
    parent = await mkdtemp(join(tmpdir(), 'leftovers-test-'));
    const target = await victim(parent);
    await symlink(target, join(parent, 'restore-drill-trap'));
    const skipped: string[] = [];
    expect(await findLocalLeftovers({ parentDir: parent, onSkip: (l, r) => skipped.push(`${l}: ${r}`) })).toEqual([]);
    expect(skipped).toEqual([`${join(parent, 'restore-drill-trap')}: it is a symlink`]);
    expect(intact(target)).toBe(true);
  });

  test('a label that is a symlink (to a genuine label) proves nothing', async () => {
    parent = await mkdtemp(join(tmpdir(), 'leftovers-test-'));
    const target = await victim(parent);
    const dir = join(parent, 'restore-drill-linked-label');
    await mkdir(dir, { mode: 0o700 });
    await writeFile(join(dir, 'file'), 'x');
    await symlink(join(target, LABEL_FILE), join(dir, LABEL_FILE));
    const skipped: string[] = [];
    expect(await findLocalLeftovers({ parentDir: parent, onSkip: (_l, r) => skipped.push(r) })).toEqual([]);
    expect(skipped).toEqual(['its label is a symlink']);
    expect(existsSync(join(dir, 'file'))).toBe(true);
  });

  test('a label that is group-writable, or hard-linked, is not trusted', async () => {
    parent = await mkdtemp(join(tmpdir(), 'leftovers-test-'));
    const writable = join(parent, 'restore-drill-writable');
    await mkdir(writable, { mode: 0o700 });
    await writeFile(join(writable, LABEL_FILE), label('writable'));
    await chmod(join(writable, LABEL_FILE), 0o666);
    const linked = join(parent, 'restore-drill-linked');
    await mkdir(linked, { mode: 0o700 });
    await writeFile(join(parent, 'elsewhere.json'), label('linked'));
    await link(join(parent, 'elsewhere.json'), join(linked, LABEL_FILE));
    const skipped: string[] = [];
    expect(await findLocalLeftovers({ parentDir: parent, onSkip: (_l, r) => skipped.push(r) })).toEqual([]);
    expect(skipped.sort()).toEqual(['its label has other hard links', 'its label is writable by other users']);
  });

  test.skipIf(!isRoot)('a forged label in a directory another (unprivileged) user owns is not trusted', async () => {
    parent = await mkdtemp(join(tmpdir(), 'leftovers-test-'));
    await chmod(parent, 0o755);
    const forged = join(parent, 'restore-drill-forged');
    await mkdir(forged, { mode: 0o700 });
    await writeFile(join(forged, LABEL_FILE), label('forged'));
    await writeFile(join(forged, 'precious.txt'), 'keep me');
    for (const p of [forged, join(forged, LABEL_FILE), join(forged, 'precious.txt')])
      await chown(p, nobody.uid, nobody.gid);
    const skipped: string[] = [];
    expect(await findLocalLeftovers({ parentDir: parent, onSkip: (_l, r) => skipped.push(r) })).toEqual([]);
    expect(skipped).toEqual([`its label is owned by uid ${nobody.uid}, not by this user or root`]);
    expect(existsSync(join(forged, 'precious.txt'))).toBe(true);
  });

  test('a directory that is provably ours is removed, without following a symlink inside it', async () => {
    parent = await mkdtemp(join(tmpdir(), 'leftovers-test-'));
    const target = await victim(parent);
    const ours = join(parent, 'restore-drill-ours');
    await mkdir(join(ours, 'data'), { recursive: true, mode: 0o700 });
    await writeFile(join(ours, LABEL_FILE), label('ours'));
    await symlink(target, join(ours, 'data', 'link-to-victim'));
    await symlink(target, join(ours, 'top-link'));
    if (isRoot) await chown(join(ours, 'data'), nobody.uid, nobody.gid); // the server's account owned its data dir
    const leftovers = await findLocalLeftovers({ parentDir: parent });
    expect(leftovers.map((l) => [l.location, l.label.runId, l.reason])).toEqual([
      [ours, 'ours', `owner process ${deadPid} is gone`],
    ]);
    await removeLocalLeftover(leftovers[0]!);
    expect(existsSync(ours)).toBe(false);
    expect(intact(target)).toBe(true);
  });

  test('a leftover swapped for a symlink after it was found is not removed', async () => {
    parent = await mkdtemp(join(tmpdir(), 'leftovers-test-'));
    const target = await victim(parent);
    const ours = join(parent, 'restore-drill-swapped');
    await mkdir(ours, { mode: 0o700 });
    await writeFile(join(ours, LABEL_FILE), label('swapped'));
    const [leftover] = await findLocalLeftovers({ parentDir: parent });
    await rename(ours, join(parent, 'moved-away'));
    await symlink(target, ours);
    await expect(removeLocalLeftover(leftover!)).rejects.toThrow(
      /not removing .*restore-drill-swapped: it is a symlink/,
    );
    expect(intact(target)).toBe(true);
  });

  test('`restore-drill cleanup` names what it left alone and removes only its own', async () => {
    parent = await mkdtemp(join(tmpdir(), 'leftovers-test-'));
    const target = await victim(parent);
    await symlink(target, join(parent, 'restore-drill-trap'));
    const ours = join(parent, 'restore-drill-ours');
    await mkdir(ours, { mode: 0o700 });
    await writeFile(join(ours, LABEL_FILE), label('ours'));
    const out = await runCli(['cleanup'], { env: { TMPDIR: parent, DOCKER_HOST: NO_ENGINE } });
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toContain(`cleanup: left ${join(parent, 'restore-drill-trap')} alone: it is a symlink`);
    expect(out.stdout).toContain(`removed local-postgres ${ours} (run ours`);
    expect(existsSync(ours)).toBe(false);
    expect(intact(target)).toBe(true);
  });
});
