// SIGKILL leaves whatever a run had created; `restore-drill cleanup` (and the start of the next run) must
// remove every leftover that is restore-drill's, and nothing else. The watchdog that normally removes
// them is killed too here, as a machine crash or an OOM kill of the whole process group would.
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { newRunId } from '../environments/labels.ts';
import { LABEL_FILE, localPostgres } from '../environments/local/local-postgres.ts';
import type { StartedEnvironment } from '../environments/environment.ts';
import { generateKeyPair } from '../evidence/signing-key.ts';
import { NO_ENGINE, runCli } from '../testing/run-cli.ts';
import { markedShopDump } from '../testing/shop-database.ts';

let dir: string;
let dump: string;
let key: string;
let lookalike: StartedEnvironment;
let lookalikeDir: string;
/** A private temp dir for the runs of this file: other test files' runs also clean up leftovers at start. */
let tmp: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'crash-test-'));
  tmp = join(dir, 'tmp');
  await mkdir(tmp);
  await chmod(dir, 0o755); // clusters run as an unprivileged user, who must reach them
  await chmod(tmp, 0o1777);
  key = generateKeyPair(join(dir, 'keys')).privatePath;
  dump = await markedShopDump(join(dir, 'shop.dump'));
  // A running cluster that looks like ours (same folder prefix, same layout) but carries no label.
  lookalike = await localPostgres({ parentDir: tmp }).start({
    runId: newRunId(),
    drillName: 'look-alike',
    log: () => {},
  });
  lookalikeDir = (lookalike as unknown as { dir: string }).dir;
  await unlink(join(lookalikeDir, LABEL_FILE));
});
afterAll(async () => {
  await lookalike?.stop();
  await rm(dir, { recursive: true, force: true });
});

/** Pids of processes whose command line contains all the given words. */
async function pidsWith(...words: string[]): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = (await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '')).split('\0');
    if (words.every((w) => cmdline.includes(w))) pids.push(Number(entry));
  }
  return pids;
}

/** Starts `check`, and SIGKILLs it and its watchdogs once `phaseLine` shows; returns the run's leftovers. */
async function crashDuring(phaseLine: RegExp): Promise<string[]> {
  let killed: number | undefined;
  await runCli(['check', '--dump', dump, '--report-dir', join(dir, 'reports'), '--signing-key', key], {
    env: { TMPDIR: tmp },
    onStderr: (text, child) => {
      if (killed || !phaseLine.test(text)) return;
      killed = child.pid;
      // Frozen at once: a short phase (verify of a small dump, then a quick teardown) could otherwise end the
      // run while its watchdogs are looked up. A stopped process still counts as alive to them.
      child.kill('SIGSTOP');
      void pidsWith('restore-drill-reaper', String(child.pid)).then((reapers) => {
        for (const pid of reapers) process.kill(pid, 'SIGKILL');
        child.kill('SIGKILL');
      });
    },
  });
  expect(killed).toBeDefined();
  // The killed run's leftovers are the ones labelled with its pid.
  const mine: string[] = [];
  for (const name of (await readdir(tmp)).filter((n) => n.startsWith('restore-drill-'))) {
    const label = await readFile(join(tmp, name, LABEL_FILE), 'utf8').catch(() => '{}');
    if (JSON.parse(label).ownerPid === killed) mine.push(join(tmp, name));
  }
  return mine;
}

describe('after a SIGKILL', () => {
  test('restore-drill cleanup removes the cluster, its server and the work dir; a look-alike stays', async () => {
    const leftovers = await crashDuring(/restoring custom dump/);
    expect(leftovers.length).toBeGreaterThanOrEqual(2); // the cluster and the work dir
    // The server died with the process that started it (bwrap --die-with-parent, its own pid namespace):
    // only its directory is left for cleanup.
    const dataDir = join(
      leftovers.find((l) => existsSync(join(l, 'data')))!,
      'data',
    );
    for (let i = 0; i < 50 && (await pidsWith('-D', dataDir)).length; i++) await new Promise((r) => setTimeout(r, 100));
    expect(await pidsWith('-D', dataDir)).toEqual([]);

    const out = await runCli(['cleanup'], { env: { TMPDIR: tmp, DOCKER_HOST: NO_ENGINE } });
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(/removed local-postgres .*owner process \d+ is gone/);
    expect(out.stdout).toMatch(/removed work-dir /);
    for (const path of leftovers) expect(existsSync(path), path).toBe(false);
    // Not ours: untouched and still serving.
    expect(existsSync(join(lookalikeDir, 'data', 'postmaster.pid'))).toBe(true);
  });

  test('killed during locate, provision and verify: the next run removes what each left before it starts', async () => {
    // Three crashed runs, then one run that must find and remove the leftovers of all three.
    const leftovers = new Map<string, string[]>();
    for (const [phase, line] of [
      ['locate', /locate: listing recovery points/],
      ['provision', /provision: (initdb|copy of the initdb template)/],
      ['verify', /verify: comparing/],
    ] as const) {
      const left = await crashDuring(line);
      expect(left.length, phase).toBeGreaterThanOrEqual(1); // at least the work dir
      leftovers.set(phase, left);
    }
    const out = await runCli(['check', '--dump', dump, '--report-dir', join(dir, 'reports'), '--signing-key', key], {
      env: { TMPDIR: tmp },
    });
    expect(out.code, out.stdout + out.stderr).toBe(0);
    expect(out.stderr).toMatch(/removed \d+ leftover\(s\) of crashed runs/);
    for (const [phase, paths] of leftovers)
      for (const path of paths) expect(existsSync(path), `${phase}: ${path} after:\n${out.stderr}`).toBe(false);
    expect(existsSync(join(lookalikeDir, 'data', 'postmaster.pid'))).toBe(true);
  });
});
