import { expect, test } from 'vitest';
import { parseCiFlags } from './ci-outputs.ts';

test('the webhook comes from RESTORE_DRILL_NOTIFY, else the older RESTORE_DRILL_NOTIFY_URL, and --notify wins', () => {
  expect(parseCiFlags({}, { RESTORE_DRILL_NOTIFY: 'https://hooks.example.com/a' }).notify?.href).toBe(
    'https://hooks.example.com/a',
  );
  expect(parseCiFlags({}, { RESTORE_DRILL_NOTIFY_URL: 'https://hooks.example.com/b' }).notify?.href).toBe(
    'https://hooks.example.com/b',
  );
  expect(
    parseCiFlags(
      {},
      { RESTORE_DRILL_NOTIFY: 'https://hooks.example.com/a', RESTORE_DRILL_NOTIFY_URL: 'https://hooks.example.com/b' },
    ).notify?.href,
  ).toBe('https://hooks.example.com/a');
  expect(
    parseCiFlags({ notify: 'https://hooks.example.com/c' }, { RESTORE_DRILL_NOTIFY: 'https://hooks.example.com/a' })
      .notify?.href,
  ).toBe('https://hooks.example.com/c');
  expect(() => parseCiFlags({}, { RESTORE_DRILL_NOTIFY: 'ftp://x' })).toThrow(/RESTORE_DRILL_NOTIFY needs an http/);
  expect(parseCiFlags({}, {}).notify).toBeUndefined();
});
