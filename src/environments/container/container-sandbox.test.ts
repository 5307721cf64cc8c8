// What code in a backup can reach from inside the container environment: no network (not even the host's
// loopback), and of this machine's files only the socket folder, which is gone after the drill.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { localPostgres } from '../local/local-postgres.ts';
import { newRunId } from '../labels.ts';
import { dumpWithManifest } from '../../markers/dump-with-manifest.ts';
import { fileSource } from '../../sources/file/file-source.ts';
import { probeContainerEngine } from './container-engine.testkit.ts';
import { containerPostgres } from './container-postgres.ts';

const engine = await probeContainerEngine();

let dir: string;
let listener: Server;
let listenerPort: number;
const connections: string[] = [];

/**
 * A CHECK constraint whose function, once restored (not in production: its database is `prod_*`), runs a
 * program that tries to reach the host's loopback listener and records what happened in `attempts` — so the
 * test sees both that the code ran and what it could reach.
 */
const HOSTILE_SQL = (port: number) => `
  create table public.attempts (line text);
  create function public.probe(id int) returns boolean language plpgsql as $$
  begin
    if current_database() like 'prod\\_%' then return true; end if;
    execute 'copy public.attempts from program ' || quote_literal($p$${probeScript(port)}$p$);
    return true;
  end $$;
  create table public.items (id int primary key check (public.probe(id)));
  insert into public.items values (1);`;

/** A shell command that tries the listener (bash's /dev/tcp) and says what it reached and saw. */
function probeScript(port: number): string {
  return `bash -c "if (exec 3<>/dev/tcp/127.0.0.1/${port}) 2>/dev/null; then echo tcp:reached; else echo tcp:refused; fi; echo links:$(ls /sys/class/net | tr '\\n' ' '); echo root:$(ls / | tr '\\n' ' ')"`;
}

describe.skipIf(!engine.available)(`the container environment confines a backup's code${engine.reason}`, () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'container-sandbox-test-'));
    listener = createServer((socket) => {
      connections.push(String(socket.remoteAddress));
      socket.destroy();
    });
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    listenerPort = (listener.address() as { port: number }).port;
    // The probe works: run on this machine, it reaches the listener (so "refused" below means confined).
    expect(execFileSync('sh', ['-c', probeScript(listenerPort)], { encoding: 'utf8' })).toMatch(/^tcp:reached$/m);
    await vi.waitFor(() => expect(connections).toHaveLength(1));
    connections.length = 0;
    await using production = await localPostgres().start({
      runId: newRunId(),
      drillName: 'container sandbox production',
      log: () => {},
    });
    const admin = new pg.Client(production.connectionConfig('postgres'));
    await admin.connect();
    await admin.query('create database prod_hostile');
    await admin.end();
    const client = new pg.Client(production.connectionConfig('prod_hostile'));
    await client.connect();
    await client.query(HOSTILE_SQL(listenerPort));
    await client.end();
    const c = production.connectionConfig('prod_hostile');
    const url = `postgres://${c.user}:${encodeURIComponent(String(c.password))}@${encodeURIComponent(String(c.host))}:${c.port}/prod_hostile`;
    await dumpWithManifest(url, join(dir, 'dumps', 'hostile.dump'));
  }, 180_000);
  afterAll(async () => {
    listener?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test.each(['host', 'container'] as const)(
    "restored with the %s's pg_restore, code in the backup runs with no network: the host's loopback listener receives nothing",
    async (restoreWith) => {
      const source = fileSource(join(dir, 'dumps'));
      const sourceContext = { workDir: dir, log: () => {} };
      const [point] = await source.list(sourceContext);
      const restorable = await source.fetch(point!, sourceContext);
      const env = await containerPostgres({ image: engine.image, restoreWith }).start({
        runId: newRunId(),
        drillName: 'container sandbox',
        log: () => {},
      });
      const socketDir = String(env.connectionConfig().host);
      let lines: string[];
      try {
        await env.restore(restorable, { log: () => {}, jobs: 1 });
        const client = new pg.Client(env.connectionConfig());
        await client.connect();
        lines = (await client.query<{ line: string }>('select line from public.attempts')).rows.map((r) =>
          r.line.trim(),
        );
        await client.end();
      } finally {
        await env.stop();
      }
      // The code ran (its own record says so), found only a loopback device of its own, and reached nothing.
      expect(lines).toContain('tcp:refused');
      expect(lines).toContain('links:lo');
      expect(lines).not.toContain('tcp:reached');
      expect(connections).toEqual([]);
      // Nothing of this machine's file system is in the container but the socket folder, gone after stop().
      expect(lines.find((l) => l.startsWith('root:'))).not.toMatch(/\bwork\b/);
      expect(existsSync(dirname(socketDir))).toBe(false);
      expect((await readdir(tmpdir())).filter((n) => n.startsWith(`restore-drill-${env.runId}`))).toEqual([]);
    },
    120_000,
  );
});
