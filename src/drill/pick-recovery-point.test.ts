import { expect, test } from 'vitest';
import { ConfigError } from '../errors.ts';
import type { RecoveryPoint } from '../model/recovery-point.ts';
import { parsePick, pickRecoveryPoint } from './pick-recovery-point.ts';

const now = new Date('2026-11-23T12:00:00Z');
const point = (id: string, daysAgo: number): RecoveryPoint => ({
  source: 'test',
  id,
  createdAt: new Date(now.getTime() - daysAgo * 86400e3),
  createdAtBasis: 'test',
  facts: {},
});
const points = [point('d1', 1), point('d3', 3), point('d6', 6), point('d10', 10), point('future', -1)];

test('random: only points created inside the window before now are picked, and each of them can be', () => {
  const picked = new Set<string>();
  for (let i = 0; i < 200; i++)
    picked.add(pickRecoveryPoint(points, { strategy: 'random', within: '7d' }, 'test', now).id);
  // 200 draws among 3: missing one has a chance of 3 × (2/3)^200, i.e. never.
  expect([...picked].sort()).toEqual(['d1', 'd3', 'd6']);
});

test('random: an empty window is a ConfigError saying how far back it looked', () => {
  expect(() => pickRecoveryPoint(points, { strategy: 'random', within: '12h' }, 'backups/', now)).toThrow(
    /^no recovery points created within the last 12h 00m in backups\/$/,
  );
  expect(() => pickRecoveryPoint(points, { strategy: 'random', within: 'a week' }, 'backups/', now)).toThrow(
    ConfigError,
  );
});

test('latest and nearest still pick as before', () => {
  expect(pickRecoveryPoint(points.slice(0, 4)).id).toBe('d1');
  expect(pickRecoveryPoint(points, { strategy: 'nearest', target: new Date(now.getTime() - 5 * 86400e3) }).id).toBe(
    'd6',
  );
});

test('parsePick reads the command line forms and refuses anything else in one line', () => {
  expect(parsePick('latest')).toEqual({ strategy: 'latest' });
  expect(parsePick('nearest:2026-11-30T03:00:00Z')).toEqual({
    strategy: 'nearest',
    target: new Date('2026-11-30T03:00:00Z'),
  });
  expect(parsePick('random:7d')).toEqual({ strategy: 'random', within: '7d' });
  for (const bad of ['newest', 'nearest:', 'nearest:yesterday', 'random:', 'random:a week', 'latest:1d']) {
    expect(() => parsePick(bad)).toThrow(ConfigError);
  }
});
