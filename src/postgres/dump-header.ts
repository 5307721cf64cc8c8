import { open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError } from '../errors.ts';

/** What the header of a `pg_dump` archive (custom or directory format) says about it. */
export interface DumpHeader {
  readonly format: 'custom' | 'directory' | 'tar';
  /** Archive format version, e.g. `1.14` (PostgreSQL 15), `1.15` (16), `1.16` (17). */
  readonly archiveVersion: string;
  /** Local time on the machine that made the dump (the archive does not record its time zone). */
  readonly createdAtLocal: { year: number; month: number; day: number; hour: number; minute: number; second: number };
  readonly database: string;
  /** Version of the server that was dumped, e.g. `15.18`. */
  readonly serverVersion: string;
  /** Version of the pg_dump that wrote it. */
  readonly pgDumpVersion: string;
  readonly serverMajor: number;
  readonly pgDumpMajor: number;
}

const FORMATS: Record<number, DumpHeader['format']> = { 1: 'custom', 3: 'tar', 5: 'directory' };

/**
 * Reads the header of a custom-format archive file or a directory-format dump (its `toc.dat`), without
 * pg_restore: this is how a dump from a newer PostgreSQL is recognised before pg_restore fails obscurely.
 */
export async function readDumpHeader(path: string): Promise<DumpHeader> {
  let file = path;
  let info;
  try {
    info = await stat(path);
  } catch {
    throw new ConfigError(
      `dump not found: ${path}`,
      'check the path, or make a dump with `restore-drill dump --url URL --out PATH`',
    );
  }
  if (info.isDirectory()) file = join(path, 'toc.dat');
  let bytes: Buffer;
  try {
    const handle = await open(file, 'r');
    try {
      const buffer = Buffer.alloc(4096);
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
      bytes = buffer.subarray(0, bytesRead);
    } finally {
      await handle.close();
    }
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no toc.dat inside' : (error as Error).message;
    throw new ConfigError(
      `cannot read dump ${path}: ${reason}`,
      'point at a pg_dump archive (-Fc) or a directory-format dump (-Fd)',
    );
  }
  const header = parseDumpHeader(bytes, path);
  // pg_dump writes the tar format code into a directory dump's toc.dat; the folder is what makes it one.
  return info.isDirectory() ? { ...header, format: 'directory' } : header;
}

/** Parses archive header bytes; `label` names the dump in error messages. */
export function parseDumpHeader(bytes: Buffer, label: string): DumpHeader {
  const notArchive = () =>
    new ConfigError(
      `${label} is not a pg_dump archive in custom or directory format`,
      'make dumps with pg_dump -Fc or -Fd (or `restore-drill dump`); plain SQL dumps cannot be verified',
    );
  const truncated = () =>
    new ConfigError(
      `${label} is truncated: its header ends early`,
      'the backup is incomplete; take a new dump and check how it is copied',
    );
  if (bytes.length === 0) {
    throw new ConfigError(
      `${label} is empty (0 bytes)`,
      'the backup job wrote nothing; check its logs and disk space, then take a new dump',
    );
  }
  if (bytes.length < 5 || bytes.subarray(0, 5).toString('latin1') !== 'PGDMP') throw notArchive();
  let pos = 5;
  const byte = () => {
    if (pos >= bytes.length) throw truncated();
    return bytes[pos++]!;
  };
  const [vmaj, vmin, vrev] = [byte(), byte(), byte()];
  const intSize = byte();
  byte(); // offset size
  const formatCode = byte();
  const readInt = () => {
    const sign = byte();
    let value = 0;
    for (let i = 0; i < intSize; i++) value += byte() * 2 ** (8 * i);
    return sign ? -value : value;
  };
  const readStr = () => {
    const length = readInt();
    if (length < 0) return '';
    if (pos + length > bytes.length) throw truncated();
    const text = bytes.subarray(pos, pos + length).toString('utf8');
    pos += length;
    return text;
  };
  // Archive 1.15 (PostgreSQL 16) replaced the compression level int with an algorithm byte.
  if (vmaj > 1 || vmin >= 15) byte();
  else readInt();
  const sec = readInt();
  const min = readInt();
  const hour = readInt();
  const mday = readInt();
  const mon = readInt();
  const year = readInt();
  readInt(); // isdst
  const database = readStr();
  // Strip distribution suffixes such as "15.18 (Debian 15.18-0+deb12u1)".
  const serverVersion = readStr().split(' ')[0] ?? '';
  const pgDumpVersion = readStr().split(' ')[0] ?? '';
  const format = FORMATS[formatCode];
  if (!format) throw notArchive();
  const major = (v: string) => Number(/^(\d+)/.exec(v)?.[1] ?? 0);
  return {
    format,
    archiveVersion: `${vmaj}.${vmin}${vrev ? `.${vrev}` : ''}`,
    createdAtLocal: { year: year + 1900, month: mon + 1, day: mday, hour, minute: min, second: sec },
    database,
    serverVersion,
    pgDumpVersion,
    serverMajor: major(serverVersion),
    pgDumpMajor: major(pgDumpVersion),
  };
}
