import type { ClientConfig } from 'pg';
import { ConfigError } from '../errors.ts';
import { isPgDump, type PgDumpRestorable, type Restorable } from '../model/recovery-point.ts';

/** Where and as whom a started disposable PostgreSQL accepts connections (a host name or a socket directory). */
export interface PostgresLogin {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
}

/** The `pg` connection settings of a login, for one database. */
export function loginConfig(login: PostgresLogin, database: string): ClientConfig {
  return { host: login.host, port: login.port, user: login.user, password: login.password, database };
}

/** The libpq environment (`PGHOST`, …) of a login, for `pg_restore` and `psql`; TLS off (the server is local). */
export function loginEnv(login: PostgresLogin, database: string): Record<string, string> {
  return {
    PGHOST: login.host,
    PGPORT: String(login.port),
    PGUSER: login.user,
    PGPASSWORD: login.password,
    PGDATABASE: database,
    PGSSLMODE: 'disable',
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
