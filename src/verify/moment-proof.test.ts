import { describe, expect, it } from 'vitest';
import { momentChecks, parseServerTime } from './moment-proof.ts';

// The restores themselves are proved against real PostgreSQL in environments/local/physical-restore.test.ts;
// this covers the reading of the server's messages and the verdicts on edge cases.
const replay = {
  recoveryStop: 'recovery stopping before commit of transaction 750, time 2026-12-02 08:10:00.500000+00',
  lastReplayedCommit: '2026-12-02 08:10:00.100000+00',
  redoDoneAt: '0/3000148',
};
const marker = (id: string, takenAt: string) => ({ id, takenAt, tables: {} });

describe('momentChecks', () => {
  it('reads the times the server logs', () => {
    expect(parseServerTime('2026-12-02 08:10:00.123456+00')?.toISOString()).toBe('2026-12-02T08:10:00.123Z');
    expect(parseServerTime('2026-12-02 09:10:00+01')?.toISOString()).toBe('2026-12-02T08:10:00.000Z');
    expect(parseServerTime('yesterday')).toBeNull();
  });

  it('passes a time target between the last replayed commit and the first refused one, with a marker before it', () => {
    const checks = momentChecks({ type: 'time', time: new Date('2026-12-02T08:10:00.300Z') }, replay, [
      marker('7', '2026-12-02T08:09:00.000Z'),
    ]);
    expect(checks.map((c) => c.status)).toEqual(['passed', 'passed']);
    expect(checks[1]!.detail).toContain('60.300 s before');
  });

  it('fails when the copy holds a marker after the target, or the server stopped after it', () => {
    const late = momentChecks({ type: 'time', time: new Date('2026-12-02T08:10:00.050Z') }, replay, [
      marker('8', '2026-12-02T08:10:00.080Z'),
    ]);
    expect(late.map((c) => c.status)).toEqual(['failed', 'failed']);
    expect(late[1]!.actual).toContain('#8');
  });

  it('skips the marker proof without markers, saying what the moment then rests on', () => {
    const [, markers] = momentChecks({ type: 'latest' }, { ...replay, recoveryStop: null }, []);
    expect(markers!.status).toBe('skipped');
    expect(markers!.detail).toMatch(/recovery messages alone/);
  });

  it('fails latest when the server reports a stop before the end of the archive', () => {
    expect(momentChecks({ type: 'latest' }, replay, [])[0]!.status).toBe('failed');
  });
});
