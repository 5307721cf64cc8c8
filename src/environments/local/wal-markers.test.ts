import { expect, test } from 'vitest';
import { lateCommits, parseWalDump, widenXid } from './wal-markers.ts';

const hex = (text: string) =>
  [...Buffer.from(text)].map((b) => b.toString(16).toUpperCase().padStart(2, '0')).join(' ');
const marker = (id: string, lsn: string, snapshot: string) =>
  JSON.stringify({
    format: 'restore-drill.wal-marker/v1',
    id,
    takenAt: '2026-12-02T11:00:00.000Z',
    lsn,
    snapshot,
    tables: {},
  });
const message = (tx: number, lsn: string, payload: string) =>
  `rmgr: LogicalMessage len (rec/tot): 78/78, tx: ${tx}, lsn: ${lsn}, prev 0/0, desc: MESSAGE transactional, prefix "restore-drill.marker"; payload (${payload.length} bytes): ${hex(payload)}`;
const commit = (tx: number, lsn: string, kind = 'COMMIT') =>
  `rmgr: Transaction len (rec/tot): 34/34, tx: ${tx}, lsn: ${lsn}, prev 0/0, desc: ${kind} 2026-12-02 11:00:01.000000 UTC`;

test('only markers whose transaction committed are read; a commit its snapshot did not see before its position is late', () => {
  const dump = parseWalDump(
    [
      commit(700, '0/3000100'), // seen by the snapshot (below xmin)
      commit(705, '0/3000200'), // in progress at the snapshot, committed before the position: late
      message(710, '0/3000400', marker('7', '0/3000300', '703:708:705,706')),
      commit(706, '0/3000500'), // in progress, committed after the position: not in the copy
      commit(710, '0/3000600'),
      message(711, '0/3000700', marker('8', '0/3000650', '711:711:')),
      commit(711, '0/3000800', 'ABORT'),
    ].join('\n'),
  );
  expect(dump.markers.map((m) => m.id)).toEqual(['7']);
  expect(lateCommits(dump.markers[0]!, dump.commits)).toEqual([705n]);
  expect(lateCommits({ ...dump.markers[0]!, snapshot: '703:708:706' }, dump.commits)).toEqual([]);
});

test('a marker message that does not parse is an error naming its position', () => {
  expect(() =>
    parseWalDump([message(720, '0/4000000', '{"format":"x"}'), commit(720, '0/4000100')].join('\n')),
  ).toThrow(/the restore-drill marker in the WAL at 0\/4000000 is not readable/);
});

test('a 32-bit xid is widened into the epoch nearest the snapshot, across the wrap both ways', () => {
  const epoch7 = 7n << 32n;
  expect(widenXid(4294967290n, epoch7 + 5n)).toBe(epoch7 - 6n); // just before the wrap: epoch 6
  expect(widenXid(3n, epoch7 - 6n)).toBe(epoch7 + 3n); // just after it: epoch 7
  expect(widenXid(705n, 708n)).toBe(705n);
});
