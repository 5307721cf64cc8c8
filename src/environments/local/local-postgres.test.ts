import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { describe, expect, test } from 'vitest';
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
    expect(env.connectionConfig().host).toBe(join(dir, 'socket'));
    expect(env.version).toMatch(/^\d+\.\d+/);

    await env.stop();
    expect(existsSync(dir)).toBe(false);
    await env.stop(); // idempotent
  });

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
