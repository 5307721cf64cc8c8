import { expect, test } from 'vitest';
import { ConfigError } from '../errors.ts';
import { formatDuration, parseDuration } from './duration.ts';

test.each([
  ['90s', 90],
  ['15m', 900],
  ['8h', 28800],
  ['7d', 604800],
  ['1h30m', 5400],
  ['2w', 1209600],
  ['1mo', 2592000],
  ['1mo15m', 2592900],
])('parseDuration(%s) = %i', (text, seconds) => {
  expect(parseDuration(text)).toBe(seconds);
});

test.each(['', '8', 'h', '8 h', '-5m', '8hours', '1.5.5h', 'abc'])(
  'parseDuration rejects %j with a one-line hint',
  (text) => {
    const error = (() => {
      try {
        parseDuration(text, 'RTO');
      } catch (e) {
        return e as ConfigError;
      }
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect(error?.message).toContain('bad RTO');
    expect(error?.hint).toMatch(/e\.g\. 90s/);
    expect(error?.exitCode).toBe(2);
  },
);

test('formatDuration', () => {
  expect(formatDuration(4.23)).toBe('4.2s');
  expect(formatDuration(187)).toBe('3m 07s');
  expect(formatDuration(7500)).toBe('2h 05m');
  expect(formatDuration(90000)).toBe('1d 01h');
});
