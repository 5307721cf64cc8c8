import { describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.ts';
import { checkHead, formatHead, parseHead, runHead, type LedgerEntry } from './ledger-head.ts';

const digest = (c: string) => `sha256:${c.repeat(64)}`;
const entry = (
  position: number | null,
  c: string,
  finishedAt = `2026-0${position ?? 1}-01T03:17:00.000Z`,
): LedgerEntry => ({
  file: `f${position}.report.json`,
  position,
  digest: digest(c),
  drill: 'orders',
  finishedAt,
  cadence: '1mo',
});

describe('parseHead / formatHead', () => {
  it('round-trips POSITION:sha256:<hex> and refuses anything else as a usage error', () => {
    expect(parseHead(`17:${digest('A')}`)).toEqual({ position: 17, digest: digest('a') });
    expect(formatHead({ position: 17, digest: digest('a') })).toBe(`17:${digest('a')}`);
    for (const bad of ['17', `0:${digest('a')}`, `x:${digest('a')}`, '17:sha256:abc', `17:${digest('g')}`]) {
      expect(() => parseHead(bad)).toThrow(ConfigError);
    }
  });
});

describe('checkHead', () => {
  const chain = [entry(1, 'a'), entry(2, 'b'), entry(3, 'c')];
  it('accepts a chain that reaches the head, or grew past it', () => {
    expect(checkHead(chain, { position: 3, digest: digest('c') }, 'reports')).toEqual([]);
    expect(checkHead(chain, { position: 2, digest: digest('b') }, 'reports')).toEqual([]);
  });
  it('says how many reports are missing from the end, and since when', () => {
    expect(checkHead(chain, { position: 5, digest: digest('e') }, 'reports')).toEqual([
      'reports ends at position 3 (f3.report.json, finished 2026-03-01T03:17:00.000Z) but its head is position 5: 2 report(s) missing since 2026-03-01T03:17:00.000Z (the newest were removed?)',
    ]);
    expect(checkHead([], { position: 2, digest: digest('b') }, 'reports')).toEqual([
      'reports holds no reports, but its head is position 2: all 2 report(s) missing',
    ]);
  });
  it('names a report at the head position that is not the anchored one', () => {
    expect(checkHead(chain, { position: 3, digest: digest('d') }, 'reports')).toEqual([
      `reports: position 3 is f3.report.json with digest ${digest('c')}, not the head's ${digest('d')} (replaced?)`,
    ]);
  });
  it('cannot check a chain whose newest report has no position, and says so', () => {
    expect(checkHead([entry(null, 'a')], { position: 1, digest: digest('a') }, 'reports')[0]).toMatch(
      /has no position/,
    );
  });
});

describe('runHead', () => {
  it('is the highest position among the reports a run wrote', () => {
    expect(
      runHead([{ ledger: { position: 4, digest: digest('d') } }, { ledger: { position: 6, digest: digest('f') } }, {}]),
    ).toEqual({ position: 6, digest: digest('f') });
    expect(runHead([{}])).toBeNull();
  });
});
