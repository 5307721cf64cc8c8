import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Option } from 'commander';
import { ConfigError } from '../errors.ts';
import { registerSecret } from '../util/redact.ts';
import { argvSecretWarnings, warnAboutArgvSecrets } from './argv-secrets.ts';

/** How `mark` and `dump` were told to reach production. */
export interface ProductionConnectionFlags {
  readonly url?: string;
  readonly urlEnv?: string;
}

/** The `--url` and `--url-env` options of `mark` and `dump`. */
export function productionConnectionOptions(): Option[] {
  return [
    new Option(
      '--url <url>',
      'postgres:// URL of the production database, without a password (that comes from PGPASSWORD or ~/.pgpass)',
    ),
    new Option(
      '--url-env <name>',
      'read the URL (a password in it is fine) from this environment variable, so it never appears in the process list',
    ),
  ];
}

const HOW =
  'pass --url-env NAME (the URL in that variable), --url postgres://USER@HOST/DB with PGPASSWORD or ~/.pgpass, or set PGSERVICE or PGHOST';

/**
 * The production database's URL, from `--url-env NAME` (the variable's value), `--url`, or libpq's own
 * environment: `PGSERVICE` (from `PGSERVICEFILE`, `~/.pg_service.conf` or `$PGSYSCONFDIR/pg_service.conf`) and
 * `PGHOST`, `PGPORT`, `PGUSER`, `PGDATABASE`, `PGSSLMODE`. Without a password in the URL, the connection
 * and `pg_dump` take it from `PGPASSWORD` or `~/.pgpass`, as libpq does. A password in `--url` is used,
 * with one warning that never shows it.
 *
 * @example
 * const url = productionUrl(opts); // opts from `mark --url-env PROD_DATABASE_URL`
 */
export function productionUrl(
  flags: ProductionConnectionFlags,
  env: NodeJS.ProcessEnv = process.env,
  warn?: (line: string) => void,
): string {
  if (flags.url !== undefined && flags.urlEnv !== undefined) {
    throw new ConfigError('--url and --url-env both name the database', 'pass one of them');
  }
  if (flags.urlEnv !== undefined) {
    const value = env[flags.urlEnv]?.trim();
    if (!value)
      throw new ConfigError(
        `--url-env ${flags.urlEnv}: that environment variable is not set or empty`,
        `set ${flags.urlEnv} to the postgres:// URL of the database`,
      );
    return value;
  }
  if (flags.url !== undefined) {
    warnAboutArgvSecrets([argvSecretWarnings.url('--url', flags.url)], warn);
    return flags.url;
  }
  return urlFromLibpqEnvironment(env);
}

/** A password-free URL from PGSERVICE and the PG* variables; a service file's password goes to PGPASSWORD. */
function urlFromLibpqEnvironment(env: NodeJS.ProcessEnv): string {
  const service = env.PGSERVICE ? readService(env.PGSERVICE, env) : {};
  const pick = (key: string, variable: string) => service[key] ?? (env[variable]?.trim() || undefined);
  const host = pick('host', 'PGHOST');
  if (!host) throw new ConfigError('no production database named', HOW);
  if (service.password && !env.PGPASSWORD) {
    // In this process's environment only: the `pg` client and pg_dump read it there, never from arguments.
    registerSecret(service.password);
    env.PGPASSWORD = service.password;
  }
  const user = pick('user', 'PGUSER');
  const port = pick('port', 'PGPORT');
  const database = pick('dbname', 'PGDATABASE');
  const params = new URLSearchParams();
  const sslmode = pick('sslmode', 'PGSSLMODE');
  if (sslmode) params.set('sslmode', sslmode);
  const socket = host.startsWith('/');
  // A socket directory is percent-encoded in the authority, as libpq reads it (`%2Fvar%2Frun%2Fpostgresql`).
  const authority = `${user ? `${encodeURIComponent(user)}@` : ''}${socket ? encodeURIComponent(host) : host.includes(':') ? `[${host}]` : host}${port ? `:${port}` : ''}`;
  const query = params.toString();
  return `postgres://${authority}/${database ? encodeURIComponent(database) : ''}${query ? `?${query}` : ''}`;
}

/** One `[name]` section of a libpq connection service file, as libpq looks it up. */
function readService(name: string, env: NodeJS.ProcessEnv): Record<string, string> {
  const files = [
    env.PGSERVICEFILE ?? join(homedir(), '.pg_service.conf'),
    ...(env.PGSYSCONFDIR ? [join(env.PGSYSCONFDIR, 'pg_service.conf')] : []),
  ];
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    let inSection = false;
    const values: Record<string, string> = {};
    for (const raw of text.split(/\r?\n/)) {
      const line = raw.trim();
      if (line === '' || line.startsWith('#')) continue;
      const section = /^\[(.+)\]$/.exec(line);
      if (section) {
        if (inSection) break;
        inSection = section[1]!.trim() === name;
        continue;
      }
      const eq = line.indexOf('=');
      if (inSection && eq > 0) values[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
    }
    if (inSection || Object.keys(values).length > 0) return values;
  }
  throw new ConfigError(
    `PGSERVICE ${name}: no such service in ${files.join(' or ')}`,
    'check the service name and PGSERVICEFILE',
  );
}
