// No secret on restore-drill's own command line, or its children's: the process list shows arguments to
// every user of the machine. The production URL comes from an environment variable (--url-env), libpq's
// PGPASSWORD, ~/.pgpass or PGSERVICE; secrets given as arguments anyway are used, with one warning.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { BIN, runCli } from '../testing/run-cli.ts';
import { startShopDatabase, type ShopDatabase } from '../testing/shop-database.ts';

let shop: ShopDatabase;
let dir: string;
let password: string;
let withPassword: string;
let withoutPassword: string;

beforeAll(async () => {
  shop = await startShopDatabase();
  dir = await mkdtemp(join(tmpdir(), 'argv-secrets-test-'));
  const c = shop.environment.connectionConfig();
  password = String(c.password);
  withPassword = `postgres://${c.user}:${encodeURIComponent(password)}@${encodeURIComponent(String(c.host))}:${c.port}/${c.database}`;
  withoutPassword = `postgres://${c.user}@${encodeURIComponent(String(c.host))}:${c.port}/${c.database}`;
});
afterAll(async () => {
  await shop?.stop();
  await rm(dir, { recursive: true, force: true });
});

/** The command lines of `root` and every process below it, read from /proc as `ps` does. */
function commandLines(root: number): string[] {
  const parents = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      // The parent pid is the 4th field of stat, after the command name in parentheses (which may hold spaces).
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      parents.set(Number(name), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // The process ended between listing and reading.
    }
  }
  const tree = new Set([root]);
  for (let grew = true; grew;) {
    grew = false;
    for (const [pid, parent] of parents) if (tree.has(parent) && !tree.has(pid)) grew = tree.add(pid) !== undefined;
  }
  return [...tree].flatMap((pid) => {
    try {
      return [readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim()];
    } catch {
      return [];
    }
  });
}

describe('dump --url-env', () => {
  test('no process of the dump shows the password in its command line while it runs', async () => {
    const env = { ...process.env, PROD_DATABASE_URL: withPassword, NODE_NO_WARNINGS: '1' };
    const child = spawn(
      process.execPath,
      [BIN, 'dump', '--url-env', 'PROD_DATABASE_URL', '--out', join(dir, 'url-env', 'shop.dump')],
      { env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    const seen = new Set<string>();
    let running = true;
    void exited.then(() => (running = false));
    while (running) {
      for (const line of commandLines(child.pid!)) seen.add(line);
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(await exited, output).toBe(0);
    // The sampling caught the tool and pg_dump, its child, at work.
    expect([...seen].some((l) => l.includes('restore-drill') && l.includes('--url-env PROD_DATABASE_URL'))).toBe(true);
    expect(
      [...seen].some((l) => /(^|\/)pg_dump /.test(l)),
      [...seen].join('\n'),
    ).toBe(true);
    for (const line of seen) {
      expect(line).not.toContain(password);
      expect(line).not.toContain(encodeURIComponent(password));
    }
    expect(output).not.toContain(password);
    expect(output).not.toContain('warning');
  });

  test('a variable that is not set is a usage error naming it', async () => {
    const out = await runCli(['dump', '--url-env', 'NO_SUCH_VARIABLE_X', '--out', join(dir, 'x.dump')]);
    expect(out.code).toBe(2);
    expect(out.stderr).toBe(
      'restore-drill: --url-env NO_SUCH_VARIABLE_X: that environment variable is not set or empty — set NO_SUCH_VARIABLE_X to the postgres:// URL of the database\n',
    );
  });
});

describe('mark without a password in argv', () => {
  test('a URL without a password takes it from PGPASSWORD, with no warning', async () => {
    const out = await runCli(['mark', '--url', withoutPassword, '--table', 'orders'], {
      env: { PGPASSWORD: password },
    });
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toMatch(/^marker #\d+ written/);
    expect(out.stderr).toBe('');
  });

  test('a PGSERVICE entry names the database (its password included), with no --url at all', async () => {
    const c = shop.environment.connectionConfig();
    const serviceFile = join(dir, 'pg_service.conf');
    await writeFile(
      serviceFile,
      `# test\n[other]\nhost=nowhere.invalid\n\n[shop-prod]\nhost=${c.host}\nport=${c.port}\nuser=${c.user}\ndbname=${c.database}\npassword=${password}\n`,
    );
    const out = await runCli(['mark', '--table', 'orders'], {
      env: { PGSERVICE: 'shop-prod', PGSERVICEFILE: serviceFile, PGPASSWORD: undefined },
    });
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toMatch(
      /^marker #\d+ written to restore_drill\.markers of postgres:\/\/restore_drill_superuser@/,
    );
    expect(out.stdout + out.stderr).not.toContain(password);
  });

  test('a password in --url works, with one warning that does not show it', async () => {
    const out = await runCli(['mark', '--url', withPassword, '--table', 'orders']);
    expect(out.code, out.stderr).toBe(0);
    expect(out.stderr).toBe(
      'restore-drill: warning: --url holds a password, which the process list shows while the command runs: put the password in PGPASSWORD or ~/.pgpass, or the whole URL in an environment variable and pass --url-env NAME\n',
    );
    expect(out.stdout + out.stderr).not.toContain(password);
  });

  test('with nothing naming the database, a usage error says what to pass', async () => {
    const out = await runCli(['mark'], { env: { PGHOST: undefined, PGSERVICE: undefined } });
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(/^restore-drill: no production database named — pass --url-env NAME/);
  });
});

describe('check and run: webhook URLs and keys in argv, and CI without a key', () => {
  test('--notify and a PEM in --signing-key each print one warning without the value', async () => {
    const pem = await readFile(
      fileURLToPath(new URL('../../fixtures/keys/zero-seed-ed25519-private-key.pem', import.meta.url)),
      'utf8',
    );
    const out = await runCli(
      [
        'check',
        '--dump',
        join(dir, 'absent.dump'),
        '--notify',
        'https://hooks.example.com/services/T0/B0/token-xyz',
        '--signing-key',
        pem,
        '--report-dir',
        join(dir, 'r'),
      ],
      {
        env: { RESTORE_DRILL_HOME: join(dir, 'home') },
      },
    );
    const warnings = out.stderr
      .split('\n')
      .filter((l) => l.startsWith('restore-drill: warning:') && l.includes(' holds '));
    expect(warnings).toEqual([
      'restore-drill: warning: --notify holds a webhook URL, whose path is its token, and the process list shows it while the command runs: set RESTORE_DRILL_NOTIFY instead',
      "restore-drill: warning: --signing-key holds a private key, which the process list shows while the command runs: pass the key file's path, or set RESTORE_DRILL_SIGNING_KEY to the PEM",
    ]);
    expect(out.stdout + out.stderr).not.toContain('token-xyz');
    expect(out.stdout + out.stderr).not.toContain('MC4CAQAw');
  });

  test.each([['check', '--dump', 'backups/x.dump'], ['run']])(
    'under CI, %s without a signing key is a usage error naming the variable, before anything starts',
    async (...args) => {
      const home = join(dir, `ci-${args[0]}`);
      const out = await runCli([...args, '--report-dir', join(home, 'reports')], {
        env: { CI: 'true', RESTORE_DRILL_SIGNING_KEY: undefined, RESTORE_DRILL_HOME: home },
        cwd: dir,
      });
      expect(out.code).toBe(2);
      expect(out.stderr).toBe(
        'restore-drill: no signing key: under CI (CI is set) restore-drill signs with your key only and never makes a demo key — set RESTORE_DRILL_SIGNING_KEY (a secret holding the PEM from `restore-drill keygen`, or kms://…) or pass --signing-key PATH\n',
      );
      // No demo key was made, no report written.
      expect(readdirSync(dir).includes(`ci-${args[0]}`)).toBe(false);
    },
  );
});
