import { readFileSync } from 'node:fs';
import type pg from 'pg';
import { ConfigError } from '../errors.ts';
import { redact, redactUrl, registerSecret } from '../util/redact.ts';

/** One database reached through a `postgres://` URL, for both the `pg` client and libpq tools. */
export interface UrlConnection {
  /** `pg` client configuration (includes the password: never log it). */
  readonly clientConfig: pg.ClientConfig;
  /** libpq environment for `pg_dump`: the password travels here, never on a command line. */
  readonly libpqEnv: Record<string, string>;
  /** The URL with its password replaced by `***`, safe to print. */
  readonly display: string;
}

const SSL_MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'] as const;

/** URL query parameters understood, and the libpq variable each one becomes. */
const PARAMETERS: Record<string, string> = {
  host: 'PGHOST',
  port: 'PGPORT',
  user: 'PGUSER',
  password: 'PGPASSWORD',
  dbname: 'PGDATABASE',
  sslmode: 'PGSSLMODE',
  sslrootcert: 'PGSSLROOTCERT',
  sslcert: 'PGSSLCERT',
  sslkey: 'PGSSLKEY',
  application_name: 'PGAPPNAME',
  connect_timeout: 'PGCONNECT_TIMEOUT',
  options: 'PGOPTIONS',
};

const HINT =
  'write it as postgres://USER:PASSWORD@HOST:PORT/DATABASE (percent-encode special characters in the password)';

/**
 * Parses a standard `postgres://` (or `postgresql://`) connection URL into a `pg` client configuration and
 * the matching libpq environment, so the checksums and `pg_dump` reach the same database with the same
 * credentials. Query parameters: host, port, user, password, dbname, sslmode, sslrootcert, sslcert, sslkey,
 * application_name, connect_timeout, options. Anything else — a malformed URL, another scheme, an unknown
 * parameter — is a {@link ConfigError} whose message never contains the password.
 *
 * @example
 * const { clientConfig, libpqEnv } = connectionFromUrl('postgres://app:s3cret@db.internal:5432/shop?sslmode=require');
 */
export function connectionFromUrl(url: string): UrlConnection {
  const shown = safeUrl(url);
  let parsed: URL;
  try {
    parsed = new URL(url.trim());
  } catch {
    throw new ConfigError(`not a valid connection URL: ${shown}`, HINT);
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    // Only the scheme is shown: text that merely looks like a URL (`host:5432 user password`) may be anything.
    throw new ConfigError(
      `not a PostgreSQL connection URL: it starts with "${parsed.protocol}", expected postgres:// or postgresql://`,
      HINT,
    );
  }
  const decode = (text: string, what: string) => {
    try {
      return decodeURIComponent(text);
    } catch {
      throw new ConfigError(`the ${what} in the connection URL is not valid percent-encoding: ${shown}`, HINT);
    }
  };
  const values: Record<string, string> = {};
  for (const [key, value] of parsed.searchParams) {
    if (!(key in PARAMETERS)) {
      throw new ConfigError(
        `unsupported parameter "${key}" in the connection URL ${shown}`,
        `supported: ${Object.keys(PARAMETERS).join(', ')}`,
      );
    }
    values[key] = value;
  }
  // A Unix socket directory is a percent-encoded host, as libpq reads it: postgres://u@%2Fvar%2Frun%2Fpostgresql/db.
  const hostname = /^%2F/i.test(parsed.hostname) ? decode(parsed.hostname, 'socket directory') : parsed.hostname;
  const host = hostname.replace(/^\[(.*)\]$/, '$1') || values.host;
  if (!host) throw new ConfigError(`the connection URL names no host: ${shown}`, HINT);
  const port = parsed.port || values.port || '5432';
  if (!/^\d+$/.test(port) || Number(port) < 1 || Number(port) > 65535)
    throw new ConfigError(`bad port "${port}" in the connection URL ${shown}`, HINT);
  const user = parsed.username ? decode(parsed.username, 'user name') : values.user;
  const password = parsed.password ? decode(parsed.password, 'password') : values.password;
  const path = parsed.pathname.replace(/^\//, '');
  const database = path ? decode(path, 'database name') : values.dbname;
  if (database?.includes('/'))
    throw new ConfigError(`the database name in the connection URL contains "/": ${shown}`, HINT);
  const sslmode = values.sslmode;
  if (sslmode !== undefined && !(SSL_MODES as readonly string[]).includes(sslmode)) {
    throw new ConfigError(
      `unknown sslmode "${sslmode}" in the connection URL ${shown}`,
      `use one of ${SSL_MODES.join(', ')}`,
    );
  }
  registerSecret(password);

  const merged: Record<string, string | undefined> = { ...values, host, port, user, password, dbname: database };
  const libpqEnv: Record<string, string> = {};
  for (const [key, variable] of Object.entries(PARAMETERS)) {
    const value = merged[key];
    if (value !== undefined && value !== '') libpqEnv[variable] = value;
  }
  libpqEnv.PGAPPNAME ??= 'restore-drill';

  const clientConfig: pg.ClientConfig = {
    host,
    port: Number(port),
    ...(user !== undefined ? { user } : {}),
    ...(password !== undefined ? { password } : {}),
    ...(database !== undefined ? { database } : {}),
    application_name: libpqEnv.PGAPPNAME,
    ...(values.connect_timeout ? { connectionTimeoutMillis: Number(values.connect_timeout) * 1000 } : {}),
    ...(values.options ? { options: values.options } : {}),
    ssl: sslConfig(sslmode, values, shown),
  };
  return { clientConfig, libpqEnv, display: shown };
}

/**
 * The `pg` TLS settings matching libpq's sslmode. `pg` cannot fall back to plain text, so `allow` and
 * `prefer` (libpq's default) connect without TLS, as `disable` does; `require` encrypts without verifying,
 * `verify-ca` checks the certificate chain, `verify-full` also the host name.
 */
function sslConfig(mode: string | undefined, values: Record<string, string>, shown: string): pg.ClientConfig['ssl'] {
  if (mode === undefined || mode === 'disable' || mode === 'allow' || mode === 'prefer') return false;
  const file = (key: 'sslrootcert' | 'sslcert' | 'sslkey') => {
    const path = values[key];
    if (!path) return {};
    try {
      return { [key === 'sslrootcert' ? 'ca' : key === 'sslcert' ? 'cert' : 'key']: readFileSync(path, 'utf8') };
    } catch (error) {
      throw new ConfigError(
        `cannot read ${key} ${path} named in the connection URL ${shown}: ${(error as Error).message}`,
        'check the path',
      );
    }
  };
  const files = { ...file('sslrootcert'), ...file('sslcert'), ...file('sslkey') };
  if (mode === 'require') return { rejectUnauthorized: false, ...files };
  if (mode === 'verify-ca') return { rejectUnauthorized: true, checkServerIdentity: () => undefined, ...files };
  return { rejectUnauthorized: true, ...files };
}

/**
 * The URL safe to print. A URL that does not parse may still carry a password (that is often why it does
 * not parse), so everything between `//` and the last `@` is masked, not only what looks like a password.
 */
function safeUrl(url: string): string {
  try {
    new URL(url.trim());
    // redact() as well: the password may also sit in a `password=` query parameter.
    return redact(redactUrl(url.trim()));
  } catch {
    return redact(url.trim().replace(/\/\/.*@/s, '//***@'));
  }
}
