import { chmod, chown, mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { serverOsUser } from '../postgres/os-user.ts';
import { templateCacheDir } from './cluster-template.ts';
import { newRunId } from './labels.ts';
import { localPostgres, type LocalPostgresConfig } from './local-postgres.ts';

let parent: string;
beforeAll(async () => {
  parent = await mkdtemp(join(tmpdir(), 'cluster-template-test-'));
  await chmod(parent, 0o755); // the server user must reach the cache folder inside
});
afterAll(() => rm(parent, { recursive: true, force: true }));

/** Starts a cluster with its own cache folder setting and returns it with its log lines. */
async function start(cacheDir: string, config: LocalPostgresConfig = {}) {
  process.env.RESTORE_DRILL_CACHE_DIR = cacheDir;
  const lines: string[] = [];
  const env = await localPostgres(config).start({ runId: newRunId(), drillName: 'template test', log: (line) => lines.push(line) });
  return { env, lines };
}

async function query(config: pg.ClientConfig, sql: string): Promise<unknown[]> {
  const client = new pg.Client(config);
  await client.connect();
  try {
    return (await client.query(sql)).rows;
  } finally {
    await client.end();
  }
}

describe('cached initdb template', () => {
  test('the first cluster makes the template, later ones copy it: each with its own password, label and data', async () => {
    const cache = join(parent, 'shared-cache');
    const first = await start(cache);
    const second = await start(cache);
    try {
      expect(first.lines.join('\n')).toMatch(/copy of the initdb template/);
      expect(second.lines.join('\n')).toMatch(/copy of the initdb template/);
      expect(await readdir(cache)).toHaveLength(1); // one template, made once

      // Both have the drill's database, labelled with their own run id.
      for (const { env } of [first, second]) {
        const [row] = await query(env.connectionConfig(), "select current_database() as db, shobj_description(oid, 'pg_database') as label from pg_database where datname = current_database()");
        expect(row).toEqual({ db: 'restored', label: `restore-drill disposable database of run ${env.runId}` });
      }
      // A copy's password opens that copy only.
      const a = first.env.connectionConfig();
      const b = second.env.connectionConfig();
      expect(a.password).not.toBe(b.password);
      await expect(query({ ...b, password: a.password }, 'select 1')).rejects.toThrow(/password authentication failed/);

      // What one drill restores never reaches the template or another copy.
      await query(a, 'create table restored_here as select 1 as x');
      const third = await start(cache);
      try {
        expect(await query(third.env.connectionConfig(), "select to_regclass('restored_here') as t")).toEqual([{ t: null }]);
      } finally {
        await third.env.stop();
      }
    } finally {
      await Promise.all([first.env.stop(), second.env.stop()]);
    }
  });

  test('clusters started at once with no template yet make one between them and all start', async () => {
    const cache = join(parent, 'parallel-cache');
    const started = await Promise.all([start(cache), start(cache), start(cache)]);
    try {
      for (const { env } of started) expect(await query(env.connectionConfig(), 'select 1 as one')).toEqual([{ one: 1 }]);
      expect((await readdir(cache)).filter((name) => !name.startsWith('building-'))).toHaveLength(1);
    } finally {
      await Promise.all(started.map(({ env }) => env.stop()));
    }
  });

  test('a cache folder open to other users is not used: the cluster is made with initdb, and the log says why', async () => {
    const cache = join(parent, 'open-cache');
    await mkdir(cache, { mode: 0o777 });
    await chmod(cache, 0o777);
    const user = serverOsUser();
    if (user) await chown(cache, user.uid, user.gid); // owned by the right user: only the mode is wrong
    const { env, lines } = await start(cache);
    try {
      expect(lines.join('\n')).toMatch(/not using a cached initdb template \(.*open-cache is open to other users \(mode 777, should be 700\)\)/);
      expect(lines.join('\n')).toMatch(/provision: initdb /);
      expect(await readdir(cache)).toEqual([]);
      expect(await query(env.connectionConfig(), 'select current_database() as db')).toEqual([{ db: 'restored' }]);
    } finally {
      await env.stop();
    }
  });

  test('template: false runs initdb and leaves the cache alone', async () => {
    const cache = join(parent, 'unused-cache');
    const { env, lines } = await start(cache, { template: false });
    try {
      expect(lines.join('\n')).toMatch(/provision: initdb /);
      expect(lines.join('\n')).not.toMatch(/template/);
      expect(await readdir(cache).catch(() => 'absent')).toBe('absent');
    } finally {
      await env.stop();
    }
  });

  test('the default cache folder is private to the server user, outside what leftover scans look at', () => {
    delete process.env.RESTORE_DRILL_CACHE_DIR;
    const dir = templateCacheDir(serverOsUser());
    expect(dir.startsWith(tmpdir())).toBe(true);
    expect(dir).toMatch(/restore-drill\.cache-\d+$/);
    expect(dir.split('/').pop()!.startsWith('restore-drill-')).toBe(false);
  });
});
