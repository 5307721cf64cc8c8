/**
 * The first bytes of a custom-format archive as a newer pg_dump (archive 1.16, PostgreSQL 17+) writes
 * them: enough for restore-drill and pg_restore to read the versions and refuse it.
 */
export function newerDumpHeader(version = '17.2'): Buffer {
  const int = (n: number) => Buffer.from([n < 0 ? 1 : 0, Math.abs(n) & 0xff, 0, 0, 0]);
  const str = (s: string) => Buffer.concat([int(Buffer.byteLength(s)), Buffer.from(s)]);
  return Buffer.concat([
    Buffer.from('PGDMP'),
    Buffer.from([1, 16, 0, 4, 8, 1]), // archive 1.16, int size 4, offset size 8, custom format
    Buffer.from([0]), // compression algorithm: none
    ...[0, 0, 12, 1, 0, 126, 0].map(int), // 2026-01-01 12:00:00
    str('shop'),
    str(version),
    str(version),
  ]);
}
