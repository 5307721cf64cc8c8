import type pg from 'pg';

/**
 * A `postgres://` URL for a `pg` client configuration, as a user would type it: a TCP host as the URL's host,
 * a Unix socket directory (a sandboxed local cluster) percent-encoded in its place.
 *
 * @example
 * await runCli(['mark', '--url', connectionUrl(env.connectionConfig())]);
 */
export function connectionUrl(config: pg.ClientConfig): string {
  const user = encodeURIComponent(String(config.user));
  const password = config.password === undefined ? '' : `:${encodeURIComponent(String(config.password))}`;
  const database = encodeURIComponent(String(config.database ?? 'postgres'));
  const host = String(config.host ?? '127.0.0.1');
  // A socket directory percent-encoded in the authority, as libpq reads it.
  if (host.startsWith('/'))
    return `postgres://${user}${password}@${encodeURIComponent(host)}:${config.port ?? 5432}/${database}`;
  return `postgres://${user}${password}@${host}:${config.port ?? 5432}/${database}`;
}
