// SIGINT / SIGTERM in every phase of `check`: the drill stops, writes a signed `error` report naming the
// phase it stopped in, tears its environment down and exits non-zero.
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { verifyReportFile } from '../evidence/report-verifier.ts';
import { generateKeyPair, loadPublicKey } from '../evidence/signing-key.ts';
import type { PhaseName } from '../model/report.ts';
import { runCli } from '../testing/run-cli.ts';
import { markedShopDump } from '../testing/shop-database.ts';

let dir: string;
let dump: string;
let keys: { privatePath: string; publicPath: string };
const ORDER: PhaseName[] = ['locate', 'provision', 'restore', 'verify', 'report'];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'interrupt-test-'));
  keys = generateKeyPair(join(dir, 'keys'));
  dump = await markedShopDump(join(dir, 'shop.dump'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe.concurrent('interrupted while…', () => {
  test.each([
    ['locate', 'SIGTERM', /locate: listing recovery points/],
    ['provision', 'SIGTERM', /provision: (initdb|copy of the initdb template)/],
    ['restore', 'SIGTERM', /restoring custom dump/],
    ['verify', 'SIGTERM', /verify: comparing/],
    ['restore', 'SIGINT', /restoring custom dump/],
  ] as const)('%s, by %s', async (phase, signal, line) => {
    const reports = join(dir, `${phase}-${signal}`);
    let pid: number | undefined;
    const out = await runCli(['check', '--dump', dump, '--report-dir', reports, '--signing-key', keys.privatePath], {
      onStderr: (text, child) => {
        if (pid === undefined && line.test(text)) {
          pid = child.pid;
          child.kill(signal);
        }
      },
    });
    expect(pid).toBeDefined();
    expect(out.code, out.stdout + out.stderr).toBe(signal === 'SIGINT' ? 130 : 143);
    const names = (await readdir(reports)).filter((n) => n.endsWith('.report.json'));
    expect(names).toHaveLength(1);
    const { valid, report } = await verifyReportFile(join(reports, names[0]!), loadPublicKey(keys.publicPath));
    expect(valid).toBe(true);
    expect(report!.status).toBe('error');
    expect(report!.error!.message).toBe(`interrupted by ${signal}`);
    // The signal lands in the phase that printed the line, or — if that phase ends first — a later one.
    expect(ORDER.indexOf(report!.error!.phase)).toBeGreaterThanOrEqual(ORDER.indexOf(phase));
    expect(report!.phases.at(-1)).toMatchObject({ name: report!.error!.phase, status: 'interrupted' });
    expect(
      report!.checks.filter(
        (c) =>
          c.status === 'passed' &&
          c.name !== 'restore completed' &&
          !c.name.startsWith('table exists') &&
          !/^(row count|checksum|schema|sequence|markers|manifest trusted|marker #\d+ trusted|objects)/.test(c.name),
      ),
    ).toEqual([]);
    // Nothing of the run is left: no cluster, no work dir. A cluster whose start the signal abandoned is
    // removed by its own clean-up or, when that had not finished as the process exited (the exit waits 2 s for
    // an abandoned phase), by its reaper within a few seconds of the exit: the guarantee is the same.
    const leftovers = async () => {
      const found: string[] = [];
      for (const name of (await readdir(tmpdir())).filter((n) => n.startsWith('restore-drill-'))) {
        const label = await readFile(join(tmpdir(), name, 'restore-drill.json'), 'utf8').catch(() => '{}');
        if (JSON.parse(label).ownerPid === pid) found.push(name);
      }
      return found;
    };
    for (let waited = 0; (await leftovers()).length > 0 && waited < 30_000; waited += 250) await sleep(250);
    expect(await leftovers()).toEqual([]);
  });
});
