import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ConfigError } from '../../errors.ts';
import { generateKeyPair } from '../../evidence/signing-key.ts';
import { hasStackTrace, runCli } from '../../testing/run-cli.ts';
import { findPgBinaries } from '../../postgres/pg-binaries.ts';
import type { StartedEnvironment } from '../environment.ts';
import { newRunId } from '../labels.ts';
import { localPostgres } from './local-postgres.ts';
import { makeServerSandbox, sandboxWanted } from './sandbox.ts';

const SECRETS = {
  RESTORE_DRILL_SIGNING_KEY: 'marker-signing-key-5f1c9e',
  AWS_SECRET_ACCESS_KEY: 'marker-aws-secret-8b2d07',
  PGPASSWORD: 'marker-pgpassword-3a6e44',
};

let scratch: string;
let env: StartedEnvironment;
let other: StartedEnvironment;
let listener: Server;
let listenerPort: number;
const connections: string[] = [];

const start = (config = {}) =>
  localPostgres(config).start({ runId: newRunId(), drillName: 'sandbox test', log: () => {} });

async function sql(config: pg.ClientConfig, text: string): Promise<unknown[]> {
  const client = new pg.Client(config);
  await client.connect();
  try {
    return (await client.query(text)).rows;
  } finally {
    await client.end();
  }
}

/** Host pids whose command line runs `postgres -D <dir>/data` (the postmaster of that cluster). */
function serverPids(dir: string): number[] {
  return execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' })
    .split('\n')
    .filter((line) => /\/postgres -D /.test(line) && line.includes(`${dir}/data`) && !/bwrap|setpriv/.test(line))
    .map((line) => Number(line.trim().split(/\s+/)[0]));
}

beforeAll(async () => {
  Object.assign(process.env, SECRETS);
  scratch = await mkdtemp(join(tmpdir(), 'sandbox-test-'));
  listener = createServer((socket) => {
    connections.push(String(socket.remoteAddress));
    socket.destroy();
  });
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  listenerPort = (listener.address() as { port: number }).port;
  [env, other] = await Promise.all([start(), start()]);
});
afterAll(async () => {
  for (const name of Object.keys(SECRETS)) delete process.env[name];
  await Promise.all([env?.stop(), other?.stop()]);
  listener?.close();
  await rm(scratch, { recursive: true, force: true });
});

describe('the restore sandbox', () => {
  test('the server runs as a throw-away identity: not root, not postgres, not the caller, no account at all', async () => {
    const dir = (env as unknown as { dir: string }).dir;
    const [pid] = serverPids(dir);
    expect(pid).toBeGreaterThan(0);
    const uid = Number(/^Uid:\s+(\d+)/m.exec(await readFile(`/proc/${pid}/status`, 'utf8'))![1]);
    const accounts = (await readFile('/etc/passwd', 'utf8')).split('\n').map((line) => line.split(':')[2]);
    if (process.getuid!() === 0) {
      expect(uid).not.toBe(0);
      expect(accounts).not.toContain(String(uid));
      // Each run has its own.
      const otherUid = Number(
        /^Uid:\s+(\d+)/m.exec(
          await readFile(`/proc/${serverPids((other as unknown as { dir: string }).dir)[0]}/status`, 'utf8'),
        )![1],
      );
      expect(otherUid).not.toBe(uid);
    } else {
      expect(uid).toBe(process.getuid!()); // confined by a user namespace instead
    }
    expect(env.facts?.sandbox).toMatch(/^bubblewrap: /);
  });

  test("the sandbox's processes hold none of the harness's secrets in their environment", async () => {
    const dir = (env as unknown as { dir: string }).dir;
    // Every process of this cluster: setpriv/bwrap and the postmaster (backends rewrite their environ for ps).
    const pids = execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' })
      .split('\n')
      .filter((line) => line.includes(`${dir}/data`))
      .map((line) => Number(line.trim().split(/\s+/)[0]));
    expect(pids.length).toBeGreaterThanOrEqual(2);
    const [{ raw }] = (await sql(
      env.connectionConfig(),
      "select pg_read_binary_file('/proc/self/environ') as raw",
    )) as [{ raw: Buffer }];
    const environs = [
      raw.toString('latin1'),
      ...(await Promise.all(pids.map((pid) => readFile(`/proc/${pid}/environ`, 'latin1').catch(() => '')))),
    ];
    for (const text of environs) {
      for (const secret of Object.values(SECRETS)) expect(text).not.toContain(secret);
      const names = text
        .split('\0')
        .filter((v) => /^[A-Z_]+=/.test(v))
        .map((v) => v.split('=')[0]);
      for (const name of names) expect(['LANG', 'LC_ALL', 'PATH', 'PWD']).toContain(name);
    }
  });

  test('code in the server cannot run programs, write outside its data directory, see host folders or reach the network', async () => {
    const config = env.connectionConfig();
    const escaped = join(scratch, 'escaped.txt');
    const otherSocket = String(other.connectionConfig().host);
    const attempts: Array<[string, RegExp]> = [
      ["copy (select 1) to program 'id'", /could not execute command/],
      [`copy (select 'x') to '${escaped}'`, /Read-only file system|No such file or directory/],
      ["select pg_read_file('/etc/hostname')", /No such file or directory/],
      [`select pg_ls_dir('${otherSocket}')`, /No such file or directory/],
      [`select pg_ls_dir('${scratch}')`, /No such file or directory/],
      ['create extension if not exists dblink', /^$/],
      [
        `select dblink_connect('host=127.0.0.1 port=${listenerPort} dbname=x user=x connect_timeout=2')`,
        /could not establish connection/,
      ],
    ];
    for (const [statement, error] of attempts) {
      const outcome = await sql(config, statement).then(
        () => '',
        (e: Error) => e.message,
      );
      expect(outcome, statement).toMatch(error);
    }
    expect(existsSync(escaped)).toBe(false);
    expect(connections).toEqual([]);
    // The other cluster is untouched.
    expect(
      await sql(other.connectionConfig(), "select count(*)::int as n from pg_tables where schemaname = 'public'"),
    ).toEqual([{ n: 0 }]);

    const seen = await env.sandboxViolations!();
    expect(seen.sandboxed).toBe(true);
    const attemptsSeen = seen.found.map((v) => v.attempt).join('\n');
    expect(attemptsSeen).toMatch(/run a program \(id\)/);
    expect(attemptsSeen).toMatch(new RegExp(`write a file outside its data directory \\(${escaped}\\)`));
    expect(attemptsSeen).toMatch(/read a file outside its data directory \(\/etc\/hostname\)/);
    expect(attemptsSeen).toMatch(/connect over the network/);
    expect(seen.found.find((v) => v.attempt.startsWith('run a program'))?.object).toMatch(/during copy/i);
  });

  test('the sandbox shows the server no host /tmp, /root or /home: only its own cluster folders', async () => {
    const dir = (env as unknown as { dir: string }).dir;
    const [{ entries }] = (await sql(
      env.connectionConfig(),
      `select array(select pg_ls_dir('${tmpdir()}')) as entries`,
    )) as [{ entries: string[] }];
    expect(entries).toEqual([dir.split('/').pop()]);
    const [{ own }] = (await sql(
      env.connectionConfig(),
      `select array(select pg_ls_dir('${dir}') order by 1) as own`,
    )) as [{ own: string[] }];
    expect(own).toEqual(['data', 'socket']); // not the label, the log or the passwd file
    for (const hidden of ['/root', '/home', '/usr/bin']) {
      const listed = await sql(
        env.connectionConfig(),
        `select count(*)::int as n from pg_ls_dir('${hidden}', true, false)`,
      );
      expect(listed, hidden).toEqual([{ n: 0 }]);
    }
  });

  test('sandbox: false runs the server without it, and says so', async () => {
    const plain = await start({ sandbox: false });
    try {
      expect(await sql(plain.connectionConfig(), 'select 1 as one')).toEqual([{ one: 1 }]);
      expect(plain.facts?.sandbox).toMatch(/^none \(opted out\)/);
      expect((await plain.sandboxViolations!()).sandboxed).toBe(false);
    } finally {
      await plain.stop();
    }
  });

  test('without bubblewrap the sandbox is one line naming the package to install', async () => {
    const bins = findPgBinaries({ tools: ['postgres'] });
    const error = await makeServerSandbox({
      enabled: true,
      bins,
      clusterDir: scratch,
      bwrap: join(scratch, 'no-bwrap'),
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toMatch(/needs bubblewrap \(bwrap\), which is not installed/);
    expect((error as ConfigError).hint).toMatch(/apt install bubblewrap.*RESTORE_DRILL_SANDBOX=off/);
    expect(await readdir(scratch)).toEqual([]);
  });

  test('RESTORE_DRILL_SANDBOX=off turns it off; a setting in the code wins; nonsense is refused', () => {
    const previous = process.env.RESTORE_DRILL_SANDBOX;
    try {
      process.env.RESTORE_DRILL_SANDBOX = 'off';
      expect(sandboxWanted(undefined)).toBe(false);
      expect(sandboxWanted(true)).toBe(true);
      delete process.env.RESTORE_DRILL_SANDBOX;
      expect(sandboxWanted(undefined)).toBe(true);
      process.env.RESTORE_DRILL_SANDBOX = 'maybe';
      expect(() => sandboxWanted(undefined)).toThrow(ConfigError);
    } finally {
      if (previous === undefined) delete process.env.RESTORE_DRILL_SANDBOX;
      else process.env.RESTORE_DRILL_SANDBOX = previous;
    }
  });

  test('a sandbox that cannot be made stops `check` before the drill starts: one line, exit 2', async () => {
    const cwd = await mkdtemp(join(scratch, 'cli-'));
    await writeFile(join(cwd, 'x.dump'), 'not a dump');
    const key = generateKeyPair(join(scratch, 'keys')).privatePath;
    const out = await runCli(
      ['check', '--dump', join(cwd, 'x.dump'), '--report-dir', join(cwd, 'reports'), '--signing-key', key],
      { cwd, env: { RESTORE_DRILL_SANDBOX: 'maybe' } },
    );
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(/^restore-drill: RESTORE_DRILL_SANDBOX is "maybe" — set it to "off"/m);
    expect(hasStackTrace(out.stderr)).toBe(false);
    expect(await readdir(cwd)).not.toContain('reports');
  });
});
