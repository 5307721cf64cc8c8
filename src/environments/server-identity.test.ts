import { rename, symlink, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { newRunId } from './labels.ts';
import { localPostgres } from './local/local-postgres.ts';
import type { StartedEnvironment } from './environment.ts';

const context = () => ({ runId: newRunId(), drillName: 'server identity test', log: () => {} });

async function query(config: pg.ClientConfig, sql: string): Promise<string> {
  const client = new pg.Client(config);
  await client.connect();
  try {
    return String(Object.values((await client.query<Record<string, unknown>>(sql)).rows[0] ?? {})[0]);
  } finally {
    await client.end();
  }
}

// Two clusters: the drill's (`own`) and another server of this machine (`other`) that the backup's code points
// the harness at by swapping the socket in the own server's folder for a symlink to the other's.
describe('the server identity checked on every connection', () => {
  let own: StartedEnvironment;
  let other: StartedEnvironment;
  let otherSetup: pg.Client;
  const socket = () => join(String(own.connectionConfig().host), '.s.PGSQL.5432');

  beforeAll(async () => {
    [own, other] = await Promise.all([localPostgres().start(context()), localPostgres().start(context())]);
    otherSetup = new pg.Client(other.connectionConfig('postgres'));
    await otherSetup.connect();
  }, 60_000);
  afterAll(async () => {
    await otherSetup?.end();
    await Promise.all([own?.stop(), other?.stop()]);
  });

  /** Runs `body` with the own socket replaced by a symlink to the other server's, then puts it back. */
  async function redirected(body: () => Promise<void>): Promise<void> {
    await rename(socket(), `${socket()}.real`);
    await symlink(join(String(other.connectionConfig().host), '.s.PGSQL.5432'), socket());
    try {
      await body();
    } finally {
      await unlink(socket());
      await rename(`${socket()}.real`, socket());
    }
  }

  test("a restored database's own settings (time zone, date style) do not change the identity its server reports", async () => {
    await query(own.connectionConfig(), "alter database restored set timezone = 'Pacific/Chatham'");
    await query(own.connectionConfig(), "alter database restored set datestyle = 'SQL, DMY'");
    expect(await query(own.connectionConfig(), "select current_setting('timezone')")).toBe('Pacific/Chatham');
  });

  test('a server that knows the password but is another cluster is refused, and the restore sandbox check names it', async () => {
    const ownId = await query(own.connectionConfig(), 'select system_identifier from pg_control_system()');
    // The other server accepts the own login (same role, same password): only its identity tells them apart.
    const { user, password } = own.connectionConfig();
    await otherSetup.query(`alter role "${user}" password '${String(password).replace(/'/g, "''")}'`);
    await redirected(async () => {
      const client = new pg.Client(own.connectionConfig());
      await expect(client.connect()).rejects.toThrow(/refused: it reached another server \(\d+ \/ .* \/ port 5432 /);
    });
    expect(await query(own.connectionConfig(), 'select system_identifier from pg_control_system()')).toBe(ownId);
    const seen = await own.sandboxViolations!();
    expect(seen.found).toEqual([
      expect.objectContaining({
        attempt: expect.stringContaining("redirect the harness's connections to another server"),
        object: expect.stringContaining(socket()),
        message: expect.stringContaining(`not the environment's (${ownId} / `),
      }),
    ]);
  });

  test('a server that lets the harness in without SCRAM is refused before the password is sent', async () => {
    const dataDir = (await otherSetup.query<{ d: string }>("select current_setting('data_directory') as d")).rows[0]!.d;
    await otherSetup.query(`copy (select 'local all all trust') to '${dataDir}/pg_hba.conf'`);
    await otherSetup.query('select pg_reload_conf()');
    await redirected(async () => {
      const client = new pg.Client(own.connectionConfig());
      await expect(client.connect()).rejects.toThrow(/without SCRAM authentication/);
    });
  });
});
