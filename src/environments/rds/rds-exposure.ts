// RDS has no restore sandbox: AWS forbids `COPY … TO PROGRAM` and file access, but code in a restored snapshot
// can still open connections (dblink, postgres_fdw, aws_lambda, …) to whatever the instance's network allows.
// This check states that reach from what AWS and the restored copy say, instead of leaving it implied.

import type { DBInstance } from '@aws-sdk/client-rds';
import pg from 'pg';
import type { CheckResult } from '../../model/report.ts';

/** Name of the check that reports what the temporary instance's network lets a backup's code reach. */
export const RDS_EXPOSURE_CHECK = 'RDS network exposure';

/** Extensions through which code in the database can connect out of it. */
const REACHING = ['aws_lambda', 'aws_s3', 'dblink', 'mysql_fdw', 'oracle_fdw', 'postgres_fdw', 'tds_fdw'];

/** What in the restored database can connect out: its extensions of {@link REACHING} and its foreign servers. */
export interface OutboundCode {
  readonly database: string;
  readonly extensions: readonly string[];
  /** `name (wrapper)`, e.g. `billing (postgres_fdw)`. */
  readonly foreignServers: readonly string[];
}

/**
 * Reads, in the restored database, the extensions and foreign servers that can connect out. Only catalog
 * tables, with `search_path` pinned to `pg_catalog` and names compared in JavaScript: no function, cast or
 * operator the backup defined runs.
 *
 * @example
 * const outbound = await readOutboundCode(env.connectionConfig(), 'shop'); // { extensions: ['dblink'], … }
 */
export async function readOutboundCode(config: pg.ClientConfig, database: string): Promise<OutboundCode> {
  const client = new pg.Client({ ...config, connectionTimeoutMillis: 30_000, query_timeout: 30_000 });
  await client.connect();
  try {
    await client.query('set search_path = pg_catalog, pg_temp');
    const extensions = (await client.query<{ extname: string }>('select extname from pg_catalog.pg_extension')).rows
      .map((row) => row.extname)
      .filter((name) => REACHING.includes(name))
      .sort();
    const servers = await client.query<{ srvname: string; fdwname: string }>(
      'select s.srvname, w.fdwname from pg_catalog.pg_foreign_server s join pg_catalog.pg_foreign_data_wrapper w on w.oid = s.srvfdw',
    );
    const foreignServers = servers.rows.map((row) => `${row.srvname} (${row.fdwname})`).sort();
    return { database, extensions, foreignServers };
  } finally {
    await client.end();
  }
}

/**
 * The `RDS network exposure` check of a temporary instance, from DescribeDBInstances and the restored copy:
 * failed when the instance is publicly accessible or is not in exactly the security groups the drill asked for;
 * skipped (not verified) when the drill named none, since the VPC's default group usually reaches everything
 * else in it; passed otherwise. Its detail names what the backup's code could use to connect out; whatever
 * the security groups allow, it can reach — restore-drill does not read their rules.
 *
 * @example
 * rdsExposureCheck(described, ['sg-0drill'], { database: 'shop', extensions: ['dblink'], foreignServers: [] });
 * // { name: 'RDS network exposure', status: 'passed', detail: '… dblink …' }
 */
export function rdsExposureCheck(
  instance: Pick<DBInstance, 'PubliclyAccessible' | 'VpcSecurityGroups'>,
  requested: readonly string[] | undefined,
  outbound: OutboundCode | { readonly unreadable: string },
): CheckResult {
  const groups = (instance.VpcSecurityGroups ?? []).map((g) => g.VpcSecurityGroupId ?? '?').sort();
  const shown = groups.join(', ') || 'none';
  const reach =
    'unreadable' in outbound
      ? `what in the restored copy can connect out was not read (${outbound.unreadable})`
      : outbound.extensions.length || outbound.foreignServers.length
        ? `code in the backup can connect out through ${[
            ...outbound.extensions,
            ...outbound.foreignServers.map((s) => `foreign server ${s}`),
          ].join(', ')} (database ${outbound.database}) to whatever these security groups allow`
        : `no extension or foreign server that connects out is installed in database ${outbound.database} (code with rds_superuser rights could still create dblink)`;
  const base = { name: RDS_EXPOSURE_CHECK, expected: 'private, in the security groups asked for' };
  if (instance.PubliclyAccessible !== false) {
    return {
      ...base,
      status: 'failed',
      actual: instance.PubliclyAccessible ? 'publicly accessible' : 'public accessibility unknown',
      detail: `${instance.PubliclyAccessible ? 'the temporary instance is publicly accessible' : 'RDS did not say whether the temporary instance is publicly accessible'} (security groups ${shown}); ${reach}`,
    };
  }
  if (!requested?.length) {
    return {
      ...base,
      status: 'skipped',
      actual: `security groups ${shown}`,
      detail: `not verified: no securityGroupIds were given, so the instance is in the VPC's default group (${shown}), which usually reaches everything else in the VPC; give the drill a security group of its own; ${reach}`,
    };
  }
  const asked = [...requested].sort();
  if (asked.join(',') !== groups.join(',')) {
    return {
      ...base,
      status: 'failed',
      actual: `security groups ${shown}`,
      detail: `the temporary instance is in security groups ${shown}, not the ${asked.join(', ')} the drill asked for; ${reach}`,
    };
  }
  return {
    ...base,
    status: 'passed',
    actual: `private, security groups ${shown}`,
    detail: `not publicly accessible, in the drill's security groups ${shown} only; ${reach}`,
  };
}
