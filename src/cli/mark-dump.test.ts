import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { hasStackTrace, NO_ENGINE, runCli } from '../testing/run-cli.ts';
import { startShopDatabase, type ShopDatabase } from '../testing/shop-database.ts';

let shop: ShopDatabase;
let dir: string;
let url: string;
let password: string;

beforeAll(async () => {
  shop = await startShopDatabase();
  dir = await mkdtemp(join(tmpdir(), 'mark-dump-test-'));
  const c = shop.environment.connectionConfig();
  password = String(c.password);
  url = `postgres://${c.user}:${encodeURIComponent(password)}@${encodeURIComponent(String(c.host))}:${c.port}/${c.database}`;
});
afterAll(async () => {
  await shop?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('restore-drill mark', () => {
  test('writes one marker with a mode per table, and never prints the password', async () => {
    const out = await runCli([
      'mark',
      '--url',
      url,
      '--table',
      'events:append-only',
      '--table',
      'public.customers:count',
      '--table',
      'orders',
    ]);
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(
      /marker #1 written to restore_drill\.markers of postgres:\/\/restore_drill_superuser:\*\*\*@%2F\S+(?:socket|pinned):5432\/restored/,
    );
    expect(out.stdout).toMatch(/public\.events: 3000 rows, append-only up to id 3000/);
    expect(out.stdout).toMatch(/public\.customers: 500 rows, count ±10%/);
    expect(out.stdout + out.stderr).not.toContain(password);
    const client = new pg.Client(shop.environment.connectionConfig());
    await client.connect();
    const { rows } = await client.query(
      'select id, jsonb_object_keys(tables) as t from restore_drill.markers order by t',
    );
    await client.end();
    expect(rows.map((r) => r.t)).toEqual(['public.customers', 'public.events', 'public.orders']);
  });

  test.each([
    [['--table', 'nosuch'], /nosuch/],
    [['--table', 'events:sometimes'], /unknown marker mode "sometimes"/],
    [['--table', 'page_views:append-only'], /page_views/],
  ])('bad --table %j: one line, exit 2', async (args, message) => {
    const out = await runCli(['mark', '--url-env', 'PROD_URL', ...args], { env: { PROD_URL: url } });
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(message);
    expect(out.stderr.trim().split('\n')).toHaveLength(1);
  });

  test.each([
    ['mark', () => []],
    ['dump', () => ['--out', join(dir, 'never-written.dump')]],
  ])('%s --role with a role that does not exist: one line, exit 2', async (command, more) => {
    const out = await runCli([command, '--url-env', 'PROD_URL', '--role', 'no_such_role', ...more()], {
      env: { PROD_URL: url },
    });
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(/cannot SET ROLE no_such_role: role "no_such_role" does not exist/);
    expect(out.stderr.trim().split('\n')).toHaveLength(1);
    expect(hasStackTrace(out.stderr)).toBe(false);
  });

  test.each([
    ['not a URL', 'not a url'],
    ['a MySQL URL', 'mysql://u:hunter2secret@127.0.0.1/db'],
    ['an unreachable server', 'postgres://u:hunter2secret@127.0.0.1:1/db'],
  ])('%s: one line without the password, exit 2', async (_name, badUrl) => {
    // From the environment, as the docs say: a password in --url would add its warning line.
    const out = await runCli(['mark', '--url-env', 'PROD_URL'], { env: { PROD_URL: badUrl } });
    expect(out.code).toBe(2);
    expect(out.stderr.trim().split('\n')).toHaveLength(1);
    expect(out.stderr).not.toContain('hunter2secret');
    expect(hasStackTrace(out.stderr)).toBe(false);
  });
});

describe('a server without TLS and sslmode=require', () => {
  test.each(['mark', 'dump'])('%s: one line naming the TLS problem, exit 2', async (command) => {
    const tls = `${url}?sslmode=require`;
    // From the environment, as documented: a password on the command line would add its own warning line.
    const out = await runCli(
      [command, '--url-env', 'TLS_URL', ...(command === 'dump' ? ['--out', join(dir, 'tls.dump')] : [])],
      { env: { TLS_URL: tls } },
    );
    expect(out.code, out.stderr).toBe(2);
    expect(out.stderr.trim().split('\n')).toHaveLength(1);
    expect(out.stderr).toMatch(/the server does not support TLS \(SSL\), but the URL asks for it \(sslmode=require\)/);
    expect(hasStackTrace(out.stderr)).toBe(false);
    expect(out.stderr).not.toContain(password);
  });
});

describe('restore-drill dump', () => {
  test('writes a custom dump with its manifest, which check then verifies exactly', async () => {
    const out = await runCli(['dump', '--url', url, '--out', join(dir, 'shop.dump')]);
    expect(out.code).toBe(0);
    expect(out.stdout + out.stderr).not.toContain(password);
    expect(existsSync(join(dir, 'shop.dump'))).toBe(true);
    expect(existsSync(join(dir, 'shop.dump.manifest.json'))).toBe(true);
    const check = await runCli(['check', '--dump', join(dir, 'shop.dump'), '--report-dir', join(dir, 'reports')], {
      env: { RESTORE_DRILL_HOME: join(dir, 'home') },
    });
    expect(check.stdout).toContain('PASSED');
    expect(check.stderr).toMatch(/made a local demo signing key/);
    expect(check.code).toBe(0);
  });

  test('a folder ending in / gets a directory-format dump', async () => {
    const out = await runCli(['dump', '--url', url, '--out', join(dir, 'shop.dir') + '/']);
    expect(out.code).toBe(0);
    expect(existsSync(join(dir, 'shop.dir', 'toc.dat'))).toBe(true);
    expect(existsSync(join(dir, 'shop.dir.manifest.json'))).toBe(true);
  });

  test('SIGINT while dumping: exit 130, one line, and no partial dump or manifest left at --out', async () => {
    // A lock the dump has to wait for keeps it running until the signal comes.
    const blocker = new pg.Client(shop.environment.connectionConfig());
    await blocker.connect();
    await blocker.query('begin; lock table public.orders in access exclusive mode');
    const out = join(dir, 'interrupted.dump');
    try {
      let sent = false;
      const result = await runCli(['dump', '--url', url, '--out', out], {
        onStderr: (text, child) => {
          if (!sent && /snapshot .* exported/.test(text)) {
            sent = true;
            // Once pg_dump has created its file and waits for the lock.
            const poll = setInterval(() => {
              if (existsSync(out)) {
                clearInterval(poll);
                child.kill('SIGINT');
              }
            }, 20);
          }
        },
      });
      expect(result.code, result.stderr).toBe(130);
      expect(result.stderr).toMatch(
        /restore-drill: dump interrupted by SIGINT; the partial .*interrupted\.dump was removed/,
      );
      expect(hasStackTrace(result.stderr)).toBe(false);
      expect(existsSync(out)).toBe(false);
      expect(existsSync(`${out}.manifest.json`)).toBe(false);
    } finally {
      await blocker.query('rollback').catch(() => {});
      await blocker.end();
    }
  });

  test('missing --out is a usage error', async () => {
    const out = await runCli(['dump', '--url', url]);
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(/required option '--out/);
  });
});

describe('restore-drill keygen, verify, cleanup, --help', () => {
  test('keygen writes a pair once and refuses to overwrite it', async () => {
    const first = await runCli(['keygen', '--out', join(dir, 'k')]);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/key id: +sha256:[0-9a-f]{64}/);
    const again = await runCli(['keygen', '--out', join(dir, 'k')]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/signing key already exists/);
  });

  test('verify with an unreadable public key or no files is a usage error', async () => {
    expect((await runCli(['verify', 'x.report.json', '--key', join(dir, 'none.pem')])).code).toBe(2);
    expect((await runCli(['verify', '--key', join(dir, 'k', 'signing-key.pub.pem')])).stderr).toMatch(
      /nothing to verify/,
    );
  });

  test('cleanup with a bad duration is a usage error; without leftovers it says so', async () => {
    const bad = await runCli(['cleanup', '--older-than', 'yesterday']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/bad --older-than "yesterday"/);
    // Not the container engine: container-leftovers.test.ts owns what cleanup does to containers.
    const ok = await runCli(['cleanup'], { env: { DOCKER_HOST: NO_ENGINE } });
    expect(ok.code).toBe(0);
  });

  test.each(['run', 'check', 'mark', 'dump', 'verify', 'keygen', 'cleanup'])(
    '%s --help exits 0 and describes it',
    async (command) => {
      const out = await runCli([command, '--help']);
      expect(out.code).toBe(0);
      expect(out.stdout).toMatch(new RegExp(`Usage: restore-drill ${command}`));
    },
  );

  test('an unknown command is a usage error with a suggestion', async () => {
    const out = await runCli(['chek']);
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(/unknown command 'chek'.*check/s);
  });
});
