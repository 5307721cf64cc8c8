import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { ConfigError } from '../errors.ts';
import { findPgBinaries } from './pg-binaries.ts';

let empty: string;
beforeAll(async () => {
  empty = await mkdtemp(join(tmpdir(), 'pg-binaries-test-'));
});
afterAll(async () => {
  await rm(empty, { recursive: true, force: true });
});

test('a binDir given as a value is the only folder searched, and the environment is left alone', () => {
  const before = process.env.RESTORE_DRILL_PG_BIN;
  const found = findPgBinaries({ tools: ['pg_restore'] });
  expect(findPgBinaries({ tools: ['pg_restore'], binDir: found.binDir }).binDir).toBe(found.binDir);
  expect(() => findPgBinaries({ tools: ['pg_restore'], binDir: empty })).toThrow(ConfigError);
  expect(process.env.RESTORE_DRILL_PG_BIN).toBe(before);
});
