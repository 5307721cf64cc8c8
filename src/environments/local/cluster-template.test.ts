import { chmod, lstat, mkdir, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { templateCacheDir, treeDigest } from './cluster-template.ts';
import { newRunId } from '../labels.ts';
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
  const env = await localPostgres(config).start({
    runId: newRunId(),
    drillName: 'template test',
    log: (line) => lines.push(line),
  });
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
        const [row] = await query(
          env.connectionConfig(),
          "select current_database() as db, shobj_description(oid, 'pg_database') as label from pg_database where datname = current_database()",
        );
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
        expect(await query(third.env.connectionConfig(), "select to_regclass('restored_here') as t")).toEqual([
          { t: null },
        ]);
      } finally {
        await third.env.stop();
      }
    } finally {
      await Promise.all([first.env.stop(), second.env.stop()]);
    }
  });

  test('the template belongs to the invoking user, is private, and is never shown to the server', async () => {
    const cache = join(parent, 'private-cache');
    const { env } = await start(cache);
    try {
      const [name] = await readdir(cache);
      const template = join(cache, name!);
      expect((await lstat(cache)).mode & 0o777).toBe(0o700);
      for (const path of [
        template,
        join(template, 'data'),
        join(template, 'data', 'pg_hba.conf'),
        join(template, 'digest'),
      ]) {
        expect((await lstat(path)).uid).toBe(process.getuid!());
      }
      expect(await treeDigest(join(template, 'data'))).toBe((await readFile(join(template, 'digest'), 'utf8')).trim());
      // The server cannot even see it: the sandbox shows no host folder but its own.
      await expect(query(env.connectionConfig(), `select pg_ls_dir('${cache}')`)).rejects.toThrow(
        /could not open directory.*No such file or directory/,
      );
    } finally {
      await env.stop();
    }
  });

  test('a template changed since it was made is discarded and made again, and the log says so', async () => {
    const cache = join(parent, 'tampered-cache');
    await (await start(cache)).env.stop();
    const [name] = await readdir(cache);
    const hba = join(cache, name!, 'data', 'pg_hba.conf');
    expect(await readFile(join(cache, name!, 'stamp'), 'utf8')).toMatch(/^[0-9a-f]{64}\n$/);
    // What a poisoned template would carry, written to look untouched: same size, same modification time.
    const before = await stat(hba);
    const text = await readFile(hba, 'utf8');
    await writeFile(hba, text.replace(/scram-sha-256/g, 'trust'.padEnd('scram-sha-256'.length)));
    await utimes(hba, before.atime, before.mtime);
    expect((await stat(hba)).size).toBe(before.size);
    const { env, lines } = await start(cache);
    try {
      expect(lines.join('\n')).toMatch(
        /cached initdb template .* changed since it was made .* discarded, making it again/,
      );
      await expect(query({ ...env.connectionConfig(), password: 'wrong' }, 'select 1')).rejects.toThrow(
        /password authentication failed/,
      );
      expect(await readFile(hba, 'utf8')).not.toMatch(/^(local|host)\s.*\btrust\s*$/m);
      const [again] = await readdir(cache);
      expect(await treeDigest(join(cache, again!, 'data'))).toBe(
        (await readFile(join(cache, again!, 'digest'), 'utf8')).trim(),
      );
    } finally {
      await env.stop();
    }
  });

  test('a template whose digest was removed is not trusted: discarded and made again', async () => {
    const cache = join(parent, 'undigested-cache');
    await (await start(cache)).env.stop();
    const [name] = await readdir(cache);
    await rm(join(cache, name!, 'digest'));
    const { env, lines } = await start(cache);
    try {
      expect(lines.join('\n')).toMatch(/cached initdb template .* has no digest: discarded, making it again/);
      expect(await readFile(join(cache, name!, 'digest'), 'utf8')).toMatch(/^[0-9a-f]{64}\n$/);
    } finally {
      await env.stop();
    }
  });

  test('clusters started at once with no template yet make one between them and all start', async () => {
    const cache = join(parent, 'parallel-cache');
    const started = await Promise.all([start(cache), start(cache), start(cache)]);
    try {
      for (const { env } of started)
        expect(await query(env.connectionConfig(), 'select 1 as one')).toEqual([{ one: 1 }]);
      expect((await readdir(cache)).filter((name) => !name.startsWith('building-'))).toHaveLength(1);
    } finally {
      await Promise.all(started.map(({ env }) => env.stop()));
    }
  });

  test('a cache folder open to other users is not used: the cluster is made with initdb, and the log says why', async () => {
    const cache = join(parent, 'open-cache');
    await mkdir(cache, { mode: 0o777 });
    await chmod(cache, 0o777); // owned by the right user: only the mode is wrong
    const { env, lines } = await start(cache);
    try {
      expect(lines.join('\n')).toMatch(
        /not using a cached initdb template \(.*open-cache is open to other users \(mode 777, should be 700\)\)/,
      );
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

  test('the default cache folder belongs to the invoking user, is versioned, and is outside what leftover scans look at', () => {
    delete process.env.RESTORE_DRILL_CACHE_DIR;
    const dir = templateCacheDir();
    expect(dir.startsWith(tmpdir())).toBe(true);
    expect(dir).toMatch(new RegExp(`restore-drill\\.cache-v2-${process.getuid!()}$`));
    expect(dir.split('/').pop()!.startsWith('restore-drill-')).toBe(false);
  });
});
