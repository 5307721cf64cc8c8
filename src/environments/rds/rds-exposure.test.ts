import pg from 'pg';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { StartedEnvironment } from '../environment.ts';
import { newRunId } from '../labels.ts';
import { localPostgres } from '../local/local-postgres.ts';
import { rdsExposureCheck, readOutboundCode } from './rds-exposure.ts';

const none = { database: 'shop', extensions: [], foreignServers: [] };
const inGroup = (...ids: string[]) => ids.map((VpcSecurityGroupId) => ({ VpcSecurityGroupId, Status: 'active' }));

test('a private instance in exactly the security groups asked for passes, naming what could connect out', () => {
  const check = rdsExposureCheck(
    { PubliclyAccessible: false, VpcSecurityGroups: inGroup('sg-2', 'sg-1') },
    ['sg-1', 'sg-2'],
    { database: 'shop', extensions: ['dblink'], foreignServers: ['billing (postgres_fdw)'] },
  );
  expect(check).toEqual({
    name: 'RDS network exposure',
    status: 'passed',
    expected: 'private, in the security groups asked for',
    actual: 'private, security groups sg-1, sg-2',
    detail:
      "not publicly accessible, in the drill's security groups sg-1, sg-2 only; code in the backup can connect out through dblink, foreign server billing (postgres_fdw) (database shop) to whatever these security groups allow",
  });
});

test('a publicly accessible instance, or one in other groups than asked, fails; no groups asked is not verified', () => {
  expect(
    rdsExposureCheck({ PubliclyAccessible: true, VpcSecurityGroups: inGroup('sg-1') }, ['sg-1'], none),
  ).toMatchObject({
    status: 'failed',
    actual: 'publicly accessible',
  });
  expect(rdsExposureCheck({ VpcSecurityGroups: inGroup('sg-1') }, ['sg-1'], none)).toMatchObject({
    status: 'failed',
    actual: 'public accessibility unknown',
  });
  const widened = rdsExposureCheck(
    { PubliclyAccessible: false, VpcSecurityGroups: inGroup('sg-1', 'sg-prod') },
    ['sg-1'],
    none,
  );
  expect(widened).toMatchObject({ status: 'failed', actual: 'security groups sg-1, sg-prod' });
  expect(widened.detail).toContain('not the sg-1 the drill asked for');
  const defaulted = rdsExposureCheck(
    { PubliclyAccessible: false, VpcSecurityGroups: inGroup('sg-default') },
    undefined,
    {
      unreadable: 'connection refused',
    },
  );
  expect(defaulted.status).toBe('skipped');
  expect(defaulted.detail).toMatch(/^not verified: no securityGroupIds were given/);
  expect(defaulted.detail).toContain('was not read (connection refused)');
});

let env: StartedEnvironment;
beforeAll(async () => {
  env = await localPostgres().start({ runId: newRunId(), drillName: 'rds exposure test', log: () => {} });
}, 120_000);
afterAll(async () => {
  await env?.stop();
});

test('the restored copy is read for extensions and foreign servers that connect out, without running its code', async () => {
  const client = new pg.Client(env.connectionConfig('postgres'));
  await client.connect();
  try {
    await client.query(`create extension dblink; create extension postgres_fdw; create extension pg_trgm`);
    await client.query(`create server billing foreign data wrapper postgres_fdw options (host '10.0.0.5')`);
    // A backup's trap for a careless reader: an operator of its own that would run on name || text.
    await client.query(
      `create function public.trap(name, text) returns text language sql as $$ select 'trapped' $$;
       create operator public.|| (leftarg = name, rightarg = text, function = public.trap)`,
    );
  } finally {
    await client.end();
  }
  expect(await readOutboundCode(env.connectionConfig('postgres'), 'postgres')).toEqual({
    database: 'postgres',
    extensions: ['dblink', 'postgres_fdw'],
    foreignServers: ['billing (postgres_fdw)'],
  });
}, 60_000);
