import { expect, test } from 'vitest';
import { ConfigError } from '../errors.ts';
import type { RecoveryPoint } from '../model/recovery-point.ts';
import { baseBackupSource } from '../sources/basebackup/base-backup-source.ts';
import {
  parsePick,
  pickedTarget,
  pickRecoveryPoint,
  pickStartingBackup,
  withPickedMoment,
} from './pick-recovery-point.ts';

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

test('physical: a moment is restored from the newest backup started before it; random from the one before its window', () => {
  const backups = points.filter((p) => p.id !== 'future');
  const nearest = (daysAgo: number) =>
    pickStartingBackup(
      backups,
      { strategy: 'nearest', target: new Date(now.getTime() - daysAgo * 86400e3) },
      'test',
      now,
    );
  expect(nearest(2).id).toBe('d3'); // d1 is nearer, but was taken after the moment
  expect(nearest(0).id).toBe('d1');
  expect(() => nearest(11)).toThrow(ConfigError);
  expect(pickStartingBackup(backups, { strategy: 'random', within: '7d' }, 'test', now).id).toBe('d10');
  expect(pickStartingBackup(backups, { strategy: 'random', within: '30d' }, 'test', now).id).toBe('d10'); // the oldest
  expect(pickStartingBackup(backups, { strategy: 'random', within: '2d' }, 'test', now).id).toBe('d3');
  expect(pickStartingBackup(backups, { strategy: 'marker' }, 'test', now).id).toBe('d1');
});

test('withPickedMoment: marker and moments set a physical target; marker on a dump is a ConfigError', () => {
  const physical = { kind: 'base-backup', walArchive: '/wal', target: { type: 'latest' } } as const;
  expect(withPickedMoment(physical, { strategy: 'marker' }).target).toEqual({ type: 'marker' });
  expect(withPickedMoment(physical, { strategy: 'random', within: '1d' }, now).target).toEqual({
    type: 'random',
    from: new Date('2026-11-22T12:00:00Z'),
  });
  const dump = { kind: 'pg-dump', dump: {} };
  expect(withPickedMoment(dump, { strategy: 'random', within: '1d' })).toBe(dump);
  expect(() => withPickedMoment(dump, { strategy: 'marker' })).toThrow(
    /restores to a marker's own position in the WAL, but this source's recovery points are pg-dump copies/,
  );
});

test("pickedTarget: a physical source is described with the pick's moment, not its own target", () => {
  const target = new Date('2026-11-20T03:00:00Z');
  expect(pickedTarget(undefined)).toBeUndefined();
  expect(pickedTarget({ strategy: 'latest' })).toBeUndefined();
  expect(pickedTarget({ strategy: 'nearest', target })).toEqual({ type: 'time', time: target });
  const source = baseBackupSource({ path: '/backups/base', walArchive: '/backups/wal', database: 'shop' });
  expect(source.describe()).toMatch(/, to latest \(end of the WAL archive\)$/);
  expect(source.describe(pickedTarget({ strategy: 'nearest', target }))).toMatch(/, to time 2026-11-20T03:00:00.000Z$/);
  expect(source.describe(pickedTarget({ strategy: 'random', within: '1d' }, now))).toMatch(
    /, to a random moment between 2026-11-22T12:00:00.000Z and the WAL archive's last commit$/,
  );
});
