import { describe, expect, test } from 'vitest';
import { ConfigError } from '../errors.ts';
import { redact } from '../util/redact.ts';
import { connectionFromUrl } from './connection-url.ts';

/** The ConfigError a URL is rejected with. */
function rejection(url: string): ConfigError {
  try {
    connectionFromUrl(url);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error(`${url} was accepted`);
}

describe('connectionFromUrl', () => {
  test('a percent-encoded host is a Unix socket directory, as libpq reads it', () => {
    const { clientConfig, libpqEnv } = connectionFromUrl(
      'postgres://app:pw@%2Ftmp%2Frestore-drill-x%2Fsocket:5432/shop',
    );
    expect(clientConfig).toMatchObject({ host: '/tmp/restore-drill-x/socket', port: 5432, database: 'shop' });
    expect(libpqEnv).toMatchObject({ PGHOST: '/tmp/restore-drill-x/socket', PGPORT: '5432' });
  });

  test('gives the pg client and libpq the same database and credentials', () => {
    const { clientConfig, libpqEnv, display } = connectionFromUrl(
      'postgresql://app:s3cr%40t%2Fpw@db.internal:6543/shop?sslmode=require&application_name=nightly',
    );
    expect(clientConfig).toEqual({
      host: 'db.internal',
      port: 6543,
      user: 'app',
      password: 's3cr@t/pw',
      database: 'shop',
      application_name: 'nightly',
      ssl: { rejectUnauthorized: false },
    });
    expect(libpqEnv).toEqual({
      PGHOST: 'db.internal',
      PGPORT: '6543',
      PGUSER: 'app',
      PGPASSWORD: 's3cr@t/pw',
      PGDATABASE: 'shop',
      PGSSLMODE: 'require',
      PGAPPNAME: 'nightly',
    });
    expect(display).toBe('postgresql://app:***@db.internal:6543/shop?sslmode=require&application_name=nightly');
    // The password is registered as a secret: it disappears from any text that is redacted later.
    expect(redact('oops: s3cr@t/pw')).toBe('oops: ***');
  });

  test('defaults the port, reads IPv6 hosts, and leaves out what the URL does not say', () => {
    const { clientConfig, libpqEnv } = connectionFromUrl('postgres://[::1]/shop');
    expect(clientConfig).toEqual({
      host: '::1',
      port: 5432,
      database: 'shop',
      application_name: 'restore-drill',
      ssl: false,
    });
    expect(libpqEnv).toEqual({ PGHOST: '::1', PGPORT: '5432', PGDATABASE: 'shop', PGAPPNAME: 'restore-drill' });
    expect(connectionFromUrl('postgres:///shop?host=/var/run/postgresql').clientConfig.host).toBe(
      '/var/run/postgresql',
    );
  });

  test('rejects malformed and non-PostgreSQL URLs without showing the password', () => {
    const cases = [
      'postgres://admin:hunter2-secret@db.internal:notaport/shop',
      'postgres://admin:hunter2-secret@db internal/shop',
      'db.internal:5432 admin hunter2-secret',
      'mysql://admin:hunter2-secret@db.internal/shop',
      'postgres://admin:hunter2-secret@db.internal/shop?sslmode=sometimes',
      'postgres://admin:hunter2-secret@db.internal/shop?target_session_attrs=any',
      'postgres://admin:hunter2-secret@/shop',
      'postgres://db.internal/shop?password=hunter2-secret&sslmode=bad',
      'postgres://admin:hunter2-secret@db.internal/shop%ZZ',
    ];
    for (const url of cases) {
      const error = rejection(url);
      expect(`${error.message} ${error.hint}`, url).not.toContain('hunter2');
      expect(error.message.length, url).toBeGreaterThan(10);
    }
    expect(rejection('mysql://admin:hunter2-secret@db.internal/shop').message).toBe(
      'not a PostgreSQL connection URL: it starts with "mysql:", expected postgres:// or postgresql://',
    );
    expect(rejection('postgres://admin:hunter2-secret@db.internal:notaport/shop').message).toBe(
      'not a valid connection URL: postgres://***@db.internal:notaport/shop',
    );
    expect(rejection('postgres://admin:pw@db.internal/shop?target_session_attrs=any').message).toMatch(
      /unsupported parameter "target_session_attrs"/,
    );
  });
});
