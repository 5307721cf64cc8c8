import { describe, expect, test } from 'vitest';
import { ConfigError } from '../../errors.ts';
import { findPgBinaries } from '../../postgres/pg-binaries.ts';
import { pgRestoreSite } from './container-restore.ts';

const hostMajor = Number(findPgBinaries({ tools: ['pg_restore'] }).version.split('.')[0]);

describe('pgRestoreSite', () => {
  test("with the socket pinned, 'auto' uses the host's pg_restore when it reads the dump, else the container's", () => {
    expect(pgRestoreSite('auto', true, hostMajor)).toEqual({
      where: 'host',
      why: expect.stringMatching(/^the host's pg_restore \S+ reads this dump/) as unknown,
    });
    expect(pgRestoreSite('auto', true, hostMajor + 1).where).toBe('container');
    expect(pgRestoreSite('host', true, hostMajor + 1)).toEqual({ where: 'host' });
    expect(pgRestoreSite('container', true, hostMajor)).toEqual({ where: 'container' });
  });

  test("without a pinned socket (not root) the host's pg_restore is never used: a swapped socket could redirect it", () => {
    const auto = pgRestoreSite('auto', false, hostMajor);
    expect(auto.where).toBe('container');
    expect(auto.why).toMatch(/could not be pinned \(not root\)/);
    expect(() => pgRestoreSite('host', false, hostMajor)).toThrow(ConfigError);
    expect(() => pgRestoreSite('host', false, hostMajor)).toThrow(
      /restoreWith 'host' needs the server's socket pinned/,
    );
    expect(pgRestoreSite('container', false, hostMajor)).toEqual({ where: 'container' });
  });
});
