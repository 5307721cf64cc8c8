import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, open, readdir, readFile, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { runDrill } from '../../drill/run-drill.ts';
import { generateKeyPair } from '../../evidence/signing-key.ts';
import { fileSource } from '../../sources/file/file-source.ts';
import { startShopDatabase } from '../../testing/shop-database.ts';
import { dumpWithManifest } from '../../markers/dump-with-manifest.ts';
import { probeContainerEngine } from './container-engine.testkit.ts';
import { CONTAINER_LABELS } from './container-labels.ts';
import { containerPostgres } from './container-postgres.ts';
import { containerRuntime } from './docker-runtime.ts';
import { newRunId } from '../labels.ts';

const engine = await probeContainerEngine();

let dir: string;
let signingKey: string;

/** Containers (running or not) labelled with this run id. */
async function containersOfRun(runId: string) {
  const client = await containerRuntime();
  return client.container.dockerode.listContainers({
    all: true,
    filters: { label: [`${CONTAINER_LABELS.runId}=${runId}`] },
  });
}

describe.skipIf(!engine.available)(`containerPostgres${engine.reason}`, () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'container-postgres-test-'));
    signingKey = generateKeyPair(join(dir, 'keys')).privatePath;
    await using shop = await startShopDatabase();
    const c = shop.environment.connectionConfig();
    const url = `postgres://${c.user}:${encodeURIComponent(String(c.password))}@${encodeURIComponent(String(c.host))}:${c.port}/${c.database}`;
    await mkdir(join(dir, 'custom'));
    await dumpWithManifest(url, join(dir, 'custom', 'shop.dump'));
    await mkdir(join(dir, 'directory'));
    await dumpWithManifest(url, join(dir, 'directory', 'shop.dir/'));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const drillIn = (
    name: string,
    environment: ReturnType<typeof containerPostgres>,
    folder: string,
    extra: { signal?: AbortSignal; log?: (line: string) => void } = {},
  ) => {
    const lines: string[] = [];
    const log = (line: string) => {
      lines.push(line);
      extra.log?.(line);
    };
    const result = runDrill({
      name,
      source: fileSource(join(dir, folder)),
      environment,
      reportDir: join(dir, 'reports'),
      signingKey,
      log,
      signal: extra.signal,
    });
    return { lines, result };
  };

  test("a drill passes in a container of the dump's major version, restored with the host's pg_restore, and leaves no container", async () => {
    const { lines, result } = drillIn('container from the host', containerPostgres(), 'custom');
    const { status, report } = await result;
    expect(report.error).toBeUndefined();
    expect(status).toBe('passed');
    expect(report.environment).toMatchObject({
      kind: 'container',
      version: expect.stringMatching(new RegExp(`^${engine.image.split(':')[1]}\\.`)),
    });
    expect(lines).toContainEqual(
      expect.stringMatching(new RegExp(`^provision: image ${engine.image} \\(dump header: server \\d+\\.\\d+\\)$`)),
    );
    expect(lines).toContainEqual(expect.stringMatching(/restoring from the host/));
    expect(report.checks.filter((c) => c.status !== 'passed')).toEqual([]);
    // The container's log was scanned (an ordinary dump tries nothing): the check is there, and passed.
    expect(report.checks.find((c) => c.name === 'restore sandbox')).toMatchObject({
      status: 'passed',
      actual: 'none in the server log',
    });
    expect(await containersOfRun(report.runId)).toEqual([]);
  });

  test("with no pg_restore on the host (restoreWith 'auto', the default), the container's own restores the dump", async () => {
    const empty = join(dir, 'no-host-binaries');
    await mkdir(empty, { recursive: true });
    const saved = process.env.RESTORE_DRILL_PG_BIN;
    process.env.RESTORE_DRILL_PG_BIN = empty; // the only place binaries are looked for: none there
    try {
      const { lines, result } = drillIn('container without host tools', containerPostgres(), 'custom');
      const { status, report } = await result;
      expect(report.error).toBeUndefined();
      expect(status).toBe('passed');
      expect(lines).toContainEqual(
        expect.stringMatching(/^restore: no pg_restore \d+ or newer on the host; running the container's pg_restore$/),
      );
      expect(lines).toContainEqual(expect.stringMatching(/with the container's pg_restore \d+\.\d+/));
      expect(await containersOfRun(report.runId)).toEqual([]);
    } finally {
      if (saved === undefined) delete process.env.RESTORE_DRILL_PG_BIN;
      else process.env.RESTORE_DRILL_PG_BIN = saved;
    }
  });

  test("the container's own pg_restore restores a directory dump when asked to (restoreWith: 'container')", async () => {
    const { lines, result } = drillIn('container inside', containerPostgres({ restoreWith: 'container' }), 'directory');
    const { status, report } = await result;
    expect(report.error).toBeUndefined();
    expect(status).toBe('passed');
    expect(lines).toContainEqual(expect.stringMatching(/copying the directory dump into the container/));
    expect(lines).toContainEqual(expect.stringMatching(/with the container's pg_restore \d+\.\d+/));
    expect(lines.join('\n')).not.toMatch(/restoring from the host/);
    expect(await containersOfRun(report.runId)).toEqual([]);
  });

  test('a damaged dump fails the drill with pg_restore evidence from inside the container, and the container is removed', async () => {
    await mkdir(join(dir, 'damaged'));
    const good = await open(join(dir, 'custom', 'shop.dump'));
    const { size } = await good.stat();
    const half = Buffer.alloc(Math.floor(size / 2));
    await good.read(half, 0, half.length, 0);
    await good.close();
    await writeFile(join(dir, 'damaged', 'shop.dump'), half);
    const { result } = drillIn('container damaged', containerPostgres({ restoreWith: 'container' }), 'damaged');
    const { status, report } = await result;
    expect(status).toBe('failed');
    expect(report.error?.phase).toBe('restore');
    expect(report.error?.message).toMatch(/^pg_restore exited with code 1: .+/);
    expect(report.checks).toContainEqual(expect.objectContaining({ name: 'restore completed', status: 'failed' }));
    expect(await containersOfRun(report.runId)).toEqual([]);
  });

  test('an interrupted drill (SIGINT/SIGTERM abort its signal) removes the container it was starting, and its socket folder', async () => {
    const abort = new AbortController();
    const { result } = drillIn('container interrupted', containerPostgres(), 'custom', {
      signal: abort.signal,
      log: (line) => line.startsWith('provision: starting container') && abort.abort('SIGINT'),
    });
    const { status, report } = await result;
    expect(status).toBe('error');
    expect(report.error).toMatchObject({
      phase: 'provision',
      message: expect.stringMatching(/^interrupted by SIGINT/),
    });
    // The drill ends its provision phase at once; the start in flight sees the signal and removes its container.
    await vi.waitFor(async () => expect(await containersOfRun(report.runId)).toEqual([]), {
      timeout: 60_000,
      interval: 250,
    });
    // …and its socket folder.
    await vi.waitFor(
      async () =>
        expect((await readdir(tmpdir())).filter((n) => n.startsWith(`restore-drill-${report.runId}-`))).toEqual([]),
      {
        timeout: 60_000,
        interval: 250,
      },
    );
  });

  test('the container is labelled, tuned for restore speed, has no network, listens only on its socket, needs its password, and stop() removes it with the socket folder', async () => {
    const runId = newRunId();
    const env = await containerPostgres({ image: engine.image, settings: { work_mem: '32MB' } }).start({
      runId,
      drillName: 'labels test',
      log: () => {},
    });
    const pinned = String(env.connectionConfig().host);
    const socketDir = join(dirname(pinned), 'socket');
    try {
      const [info] = await containersOfRun(runId);
      expect(info?.Labels).toMatchObject({
        [CONTAINER_LABELS.owner]: 'restore-drill',
        [CONTAINER_LABELS.runId]: runId,
        [CONTAINER_LABELS.drill]: 'labels test',
        [CONTAINER_LABELS.ownerPid]: String(process.pid),
        [CONTAINER_LABELS.createdAt]: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      });
      expect(info?.Names).toEqual([`/restore-drill-${runId}`]);
      expect(info?.HostConfig.NetworkMode).toBe('none');
      const inspected = await (await containerRuntime()).container.dockerode.getContainer(info!.Id).inspect();
      expect(inspected.HostConfig.NetworkMode).toBe('none');
      expect(inspected.HostConfig.PortBindings ?? {}).toEqual({});
      // The one folder of this machine the container sees: the socket folder, in a labelled folder of mode 700.
      expect(inspected.Mounts.filter((m) => m.Type === 'bind')).toEqual([
        expect.objectContaining({ Source: socketDir, Destination: '/run/restore-drill-socket', RW: true }),
      ]);
      expect(socketDir).toBe(join(tmpdir(), basename(dirname(socketDir)), 'socket'));
      expect(basename(dirname(socketDir))).toMatch(new RegExp(`^restore-drill-${runId}-`));
      expect((await stat(dirname(socketDir))).mode & 0o777).toBe(0o700);
      expect(JSON.parse(await readFile(join(dirname(socketDir), 'restore-drill.json'), 'utf8'))).toMatchObject({
        tool: 'restore-drill',
        runId,
        ownerPid: process.pid,
      });
      expect(inspected.Config.Env.join('\n')).not.toContain(String(env.connectionConfig().password));

      const client = new pg.Client(env.connectionConfig());
      await client.connect();
      const { rows } = await client.query(
        "select inet_server_addr()::text as addr, current_setting('listen_addresses') as listen, current_setting('fsync') as fsync, current_setting('wal_level') as wal, current_setting('work_mem') as work_mem, current_database() as db",
      );
      await client.end();
      // No address: a Unix-socket connection. The server listens on no TCP address at all.
      expect(rows[0]).toEqual({
        addr: null,
        listen: '',
        fsync: 'off',
        wal: 'minimal',
        work_mem: '32MB',
        db: 'restored',
      });
      const wrong = new pg.Client({ ...env.connectionConfig(), password: 'wrong' });
      await expect(wrong.connect()).rejects.toThrow(/password authentication failed/);

      // The container can replace anything in the shared folder — its socket by a symlink to a socket of this
      // machine, say. As root the harness connects through a link in a folder only it can write to.
      if (process.getuid?.() === 0) {
        expect(pinned).toBe(join(dirname(socketDir), 'pinned'));
        expect((await stat(pinned)).mode & 0o777).toBe(0o700);
        await rename(join(socketDir, '.s.PGSQL.5433'), join(socketDir, 'moved'));
        await symlink('/nonexistent/.s.PGSQL.5433', join(socketDir, '.s.PGSQL.5433'));
        const again = new pg.Client(env.connectionConfig());
        await again.connect();
        expect((await again.query<{ db: string }>('select current_database() as db')).rows).toEqual([
          { db: 'restored' },
        ]);
        await again.end();
      } else {
        expect(pinned).toBe(socketDir);
      }
    } finally {
      await env.stop();
    }
    expect(await containersOfRun(runId)).toEqual([]);
    expect(existsSync(dirname(socketDir))).toBe(false);
    await env.stop(); // idempotent
  });

  test("a start that fails because the container's name is taken leaves that other container alone (it is not labelled as this run's)", async () => {
    const runId = newRunId();
    const docker = (await containerRuntime()).container.dockerode;
    const foreign = await docker.createContainer({
      Image: engine.image,
      name: `restore-drill-${runId}`,
      Cmd: ['true'],
    });
    try {
      const start = containerPostgres({ image: engine.image }).start({ runId, drillName: 'name taken', log: () => {} });
      await expect(start).rejects.toThrow(/already in use|Conflict/i);
      expect((await foreign.inspect()).Name).toBe(`/restore-drill-${runId}`);
      expect((await readdir(tmpdir())).filter((n) => n.startsWith(`restore-drill-${runId}-`))).toEqual([]); // its socket folder went
    } finally {
      await foreign.remove({ force: true });
    }
  });

  test('a server that cannot start fails with the tail of its log, and its container and socket folder are removed', async () => {
    const runId = newRunId();
    const lines: string[] = [];
    const start = containerPostgres({ image: engine.image, settings: { shared_buffers: 'plenty' } }).start({
      runId,
      drillName: 'bad settings',
      log: (l) => lines.push(l),
    });
    await expect(start).rejects.toThrow(
      /^the PostgreSQL container exited with code 1 before accepting connections: .*invalid value for parameter "shared_buffers": "plenty"/,
    );
    expect(await containersOfRun(runId)).toEqual([]);
    const socketDir = /server socket in (\S+)\)$/.exec(
      lines.find((l) => l.startsWith('provision: starting container')) ?? '',
    )?.[1];
    expect(socketDir).toMatch(new RegExp(`/restore-drill-${runId}-[^/]+/socket$`));
    expect(existsSync(dirname(socketDir!))).toBe(false);
  });
});
