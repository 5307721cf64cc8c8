import { existsSync } from 'node:fs';
import { chmod, chown, mkdtemp, readFile, rm, stat, symlink } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { describe, expect, test } from 'vitest';
import { findPgBinaries } from '../../postgres/pg-binaries.ts';
import { runCommand } from '../../postgres/run-command.ts';
import { newRunId } from '../labels.ts';
import { LABEL_FILE, localPostgres } from './local-postgres.ts';

const context = () => ({ runId: newRunId(), drillName: 'local-postgres test', log: () => {} });

describe('localPostgres', () => {
  test('starts a labelled cluster reachable only over its Unix socket and deletes it on stop', async () => {
    const ctx = context();
    const env = await localPostgres().start(ctx);
    const dir = (env as unknown as { dir: string }).dir;
    const label = JSON.parse(await readFile(join(dir, LABEL_FILE), 'utf8'));
    expect(label).toMatchObject({ tool: 'restore-drill', runId: ctx.runId, ownerPid: process.pid });

    const client = new pg.Client(env.connectionConfig());
    await client.connect();
    const { rows } = await client.query<{ addr: string; listen: string; fsync: string; db: string }>(
      "select inet_server_addr()::text as addr, current_setting('listen_addresses') as listen, current_setting('fsync') as fsync, current_database() as db",
    );
    await client.end();
    expect(rows[0]).toEqual({ addr: null, listen: '', fsync: 'off', db: 'restored' });
    expect(env.connectionConfig().host).toBe(join(dir, 'pinned')); // a link to the server's socket
    expect(env.version).toMatch(/^\d+\.\d+/);

    await env.stop();
    expect(existsSync(dir)).toBe(false);
    await env.stop(); // idempotent
  });

  test.runIf(process.getuid?.() === 0)(
    "once the server listens, its socket folder is root's: the server's own code cannot replace the socket",
    async () => {
      await using env = await localPostgres().start(context());
      const socketDir = join((env as unknown as { dir: string }).dir, 'socket');
      const client = new pg.Client(env.connectionConfig());
      await client.connect();
      try {
        // What code in a backup could do as superuser: write (or, by a program, swap) a file in the socket folder.
        await expect(
          client.query(`copy (select 1) to ${pg.escapeLiteral(join(socketDir, '.s.PGSQL.planted'))}`),
        ).rejects.toThrow(/permission denied/i);
        // The harness still reaches the server, through the socket the server made.
        expect((await client.query<{ n: number }>('select 1 as n')).rows[0]!.n).toBe(1);
      } finally {
        await client.end();
      }
      expect((await stat(socketDir)).uid).toBe(0);
      expect(existsSync(join(socketDir, '.s.PGSQL.planted'))).toBe(false);
      const again = new pg.Client(env.connectionConfig());
      await again.connect();
      await again.end();
    },
  );

  test("the harness and pg_restore's libpq connect through a pinned link: a swapped socket does not redirect them", async () => {
    await using env = await localPostgres().start(context());
    const dir = (env as unknown as { dir: string }).dir;
    const pinned = String(env.connectionConfig().host);
    expect(pinned).toBe(join(dir, 'pinned'));
    expect((await stat(pinned)).mode & 0o777).toBe(0o700);
    expect((await stat(pinned)).uid).toBe(process.getuid!());
    // Another listener of this machine, and the server's socket replaced by a symlink to it: what code in a
    // backup can do where the server runs as the caller (not root), whose socket folder it can write to.
    const decoyDir = await mkdtemp(join(tmpdir(), 'pinned-socket-test-'));
    let reached = 0;
    const decoy = createServer((socket) => {
      reached += 1;
      socket.destroy();
    });
    await new Promise<void>((resolve) => decoy.listen(join(decoyDir, '.s.PGSQL.5432'), resolve));
    try {
      const socket = join(dir, 'socket', '.s.PGSQL.5432');
      await rm(socket);
      await symlink(join(decoyDir, '.s.PGSQL.5432'), socket);
      const psql = findPgBinaries({ tools: ['psql'] }).path('psql');
      // libpq 15, which ignores PGREQUIREAUTH: only the link keeps it on the drill's server.
      const { stdout } = await runCommand(psql, ['-Atc', 'select current_database()'], { env: env.libpqEnv() });
      expect(stdout.trim()).toBe('restored');
      expect(reached).toBe(0);
      // The control: through the socket folder, the same client reaches the decoy.
      await expect(
        runCommand(psql, ['-Atc', 'select 1'], { env: { ...env.libpqEnv(), PGHOST: join(dir, 'socket') } }),
      ).rejects.toThrow();
      expect(reached).toBe(1);
    } finally {
      await new Promise((resolve) => decoy.close(resolve));
      await rm(decoyDir, { recursive: true, force: true });
    }
  });

  test.runIf(process.getuid?.() === 0)(
    'not as root (the server runs as the caller, in a user namespace) the socket is pinned too, and libpq follows no swap',
    async () => {
      const home = await mkdtemp(join(tmpdir(), 'pinned-not-root-'));
      await chmod(home, 0o755);
      await chown(home, 65534, 65534);
      // As `nobody`, the caller's own rights: it swaps the socket in the server's folder (which it may write,
      // as code in the backup could), then asks libpq 15 (PGREQUIREAUTH ignored) whom it reaches.
      const script = `
        import { localPostgres } from ${JSON.stringify(new URL('./local-postgres.ts', import.meta.url).pathname)};
        import { findPgBinaries } from ${JSON.stringify(new URL('../../postgres/pg-binaries.ts', import.meta.url).pathname)};
        import { runCommand } from ${JSON.stringify(new URL('../../postgres/run-command.ts', import.meta.url).pathname)};
        import { rm, symlink } from 'node:fs/promises';
        import { join } from 'node:path';
        const env = await localPostgres().start({ runId: 'rdtest-not-root', drillName: 'not root', log: () => {} });
        try {
          const dir = join(String(env.connectionConfig().host), '..');
          await rm(join(dir, 'socket', '.s.PGSQL.5432'));
          await symlink('/nonexistent/.s.PGSQL.5432', join(dir, 'socket', '.s.PGSQL.5432'));
          const psql = findPgBinaries({ tools: ['psql'] }).path('psql');
          const { stdout } = await runCommand(psql, ['-Atc', 'select current_database()'], { env: env.libpqEnv() });
          process.stdout.write(JSON.stringify({ uid: process.getuid(), host: String(env.connectionConfig().host), db: stdout.trim() }));
        } finally {
          await env.stop();
        }
      `;
      try {
        const { stdout } = await runCommand(
          process.execPath,
          ['--import', 'tsx', '--input-type=module', '-e', script],
          {
            user: { uid: 65534, gid: 65534, name: 'nobody' },
            env: { PATH: process.env.PATH ?? '', TMPDIR: home, HOME: home },
            cwd: process.cwd(), // where tsx resolves
          },
        );
        const seen = JSON.parse(stdout) as { uid: number; host: string; db: string };
        expect(seen.uid).toBe(65534);
        expect(seen.host).toMatch(/\/pinned$/);
        expect(seen.db).toBe('restored');
      } finally {
        await rm(home, { recursive: true, force: true });
      }
    },
  );

  test('refuses a connection with a wrong password', async () => {
    await using env = await localPostgres().start(context());
    const client = new pg.Client({ ...env.connectionConfig(), password: 'wrong' });
    await expect(client.connect()).rejects.toThrow(/password authentication failed/);
  });

  test('two clusters at once get different socket directories and directories', async () => {
    const [a, b] = await Promise.all([localPostgres().start(context()), localPostgres().start(context())]);
    try {
      expect(a.connectionConfig().host).not.toBe(b.connectionConfig().host);
      expect((a as unknown as { dir: string }).dir).not.toBe((b as unknown as { dir: string }).dir);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });
});
