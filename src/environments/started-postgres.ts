import type { ClientConfig } from 'pg';
import { ConfigError } from '../errors.ts';
import { isPgDump, type PgDumpRestorable, type Restorable } from '../model/recovery-point.ts';
import type { ServerIdentity } from './server-identity.ts';

/** Where and as whom a started disposable PostgreSQL accepts connections (a host name or a socket directory). */
export interface PostgresLogin {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  /** The server's identity, checked on every connection made from the config (it is reached over a socket). */
  readonly identity?: ServerIdentity;
}

/** The `pg` connection settings of a login, for one database; with its identity check when it has one. */
export function loginConfig(login: PostgresLogin, database: string): ClientConfig {
  const config = { host: login.host, port: login.port, user: login.user, password: login.password, database };
  return login.identity ? { ...config, stream: login.identity.stream } : config;
}

/**
 * The libpq environment (`PGHOST`, …) of a login, for `pg_restore` and `psql`; TLS off (the server is local).
 * SCRAM is required (libpq 16 and later honour `PGREQUIREAUTH`; older ones ignore it): its last message proves
 * the server knows this run's password, so a socket swapped for another server's is refused there too.
 */
export function loginEnv(login: PostgresLogin, database: string): Record<string, string> {
  return {
    PGHOST: login.host,
    PGPORT: String(login.port),
    PGUSER: login.user,
    PGPASSWORD: login.password,
    PGDATABASE: database,
    PGSSLMODE: 'disable',
    PGREQUIREAUTH: 'scram-sha-256',
  };
}

/** Refuses a recovery point that is not a local `pg_dump` archive: `environment` restores only those. */
export function requirePgDump(restorable: Restorable, environment: string): asserts restorable is PgDumpRestorable {
  if (!isPgDump(restorable)) {
    throw new ConfigError(
      `the ${environment} environment cannot restore a ${restorable.kind} recovery point`,
      'pair this source with an environment that can (e.g. rdsInstance() for RDS snapshots)',
    );
  }
}
