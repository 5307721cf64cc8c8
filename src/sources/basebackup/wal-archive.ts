// The WAL archive as `archive_command` leaves it: one file per 16 MiB (by default) segment, named
// TTTTTTTTXXXXXXXXYYYYYYYY (timeline, then the segment number split in two), plus `.history` and `.backup`
// files. Read by listing names only; the segments' content is PostgreSQL's to read.

import { readdir } from 'node:fs/promises';
import { ConfigError } from '../../errors.ts';

/** How an archived segment is compressed (by its file name's suffix: `.gz`, `.zst`, `.lz4`). */
export type WalCompression = 'gzip' | 'zstd' | 'lz4';

/** One archived WAL segment. */
export interface WalSegment {
  /** The segment's name, e.g. `000000010000000000000003` (what PostgreSQL's restore_command asks for). */
  readonly name: string;
  /** The archive's file for it: the name, or the name with its compression's suffix. */
  readonly file: string;
  readonly compression: WalCompression | null;
  readonly timeline: number;
  /** The segment's number counted from LSN 0 (its first LSN is `segNo × segment size`). */
  readonly segNo: bigint;
}

/** A segment missing from the archive: replay cannot pass it, so every moment after `fromLsn` is unreachable. */
export interface WalGap {
  /** The first missing segment's file name. */
  readonly missing: string;
  /** The last segment present before the gap, and the first present after it (null: the archive ends). */
  readonly before: string;
  readonly after: string | null;
  /** The first LSN replay cannot reach. */
  readonly fromLsn: string;
}

const SEGMENT_NAME = /^(([0-9A-F]{8})([0-9A-F]{8})([0-9A-F]{8}))(\.gz|\.zst|\.lz4)?$/;
const COMPRESSION: Record<string, WalCompression> = { '.gz': 'gzip', '.zst': 'zstd', '.lz4': 'lz4' };
export const DEFAULT_SEGMENT_BYTES = 16 * 1024 * 1024;

/**
 * Parses a segment file name, compressed (`.gz`, `.zst`, `.lz4`) or not; null for anything else (history,
 * `.backup`, `.partial`, stray files).
 */
export function parseSegmentName(file: string, segmentBytes = DEFAULT_SEGMENT_BYTES): WalSegment | null {
  const match = SEGMENT_NAME.exec(file);
  if (!match) return null;
  const perLogId = 0x100000000n / BigInt(segmentBytes);
  return {
    name: match[1]!,
    file,
    compression: match[5] ? COMPRESSION[match[5]]! : null,
    timeline: parseInt(match[2]!, 16),
    segNo: BigInt(`0x${match[3]}`) * perLogId + BigInt(`0x${match[4]}`),
  };
}

/** The name of segment `segNo` on `timeline`. */
export function segmentName(timeline: number, segNo: bigint, segmentBytes = DEFAULT_SEGMENT_BYTES): string {
  const perLogId = 0x100000000n / BigInt(segmentBytes);
  const hex = (n: bigint | number) => n.toString(16).toUpperCase().padStart(8, '0');
  return `${hex(timeline)}${hex(segNo / perLogId)}${hex(segNo % perLogId)}`;
}

/** An LSN in PostgreSQL's `X/XXXXXXXX` text form. */
export function formatLsn(lsn: bigint): string {
  return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffffffffn).toString(16).toUpperCase()}`;
}

/** Parses `X/XXXXXXXX`; a ConfigError for anything else. */
export function parseLsn(text: string): bigint {
  const match = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(text.trim());
  if (!match) throw new ConfigError(`"${text}" is not an LSN`, 'write an LSN as PostgreSQL prints it, e.g. 0/3000060');
  return (BigInt(`0x${match[1]}`) << 32n) | BigInt(`0x${match[2]}`);
}

/**
 * The archive's segments, sorted by position (then timeline); a segment archived both plain and compressed is
 * listed once, plain. A missing folder is a ConfigError.
 */
export async function listWalArchive(dir: string, segmentBytes = DEFAULT_SEGMENT_BYTES): Promise<WalSegment[]> {
  const names = await readdir(dir).catch((error: NodeJS.ErrnoException) => {
    throw new ConfigError(
      `cannot read the WAL archive ${dir}: ${error.code ?? error.message}`,
      'give the folder archive_command copies WAL segments into',
    );
  });
  return walSegmentsIn(names, segmentBytes);
}

/**
 * The first segment missing after `from` (the backup's first segment), or null when every position from there
 * to the archive's newest segment is present on the backup's timeline or a later one. A gap is what turns a
 * restore to `latest` into a silent restore to an older moment: PostgreSQL ends replay at the first missing
 * file and calls that the end of the archive.
 */
export function findWalGap(
  segments: readonly WalSegment[],
  from: WalSegment,
  segmentBytes = DEFAULT_SEGMENT_BYTES,
): WalGap | null {
  const present = new Map<bigint, WalSegment>();
  for (const segment of segments)
    if (segment.timeline >= from.timeline && segment.segNo >= from.segNo) present.set(segment.segNo, segment);
  const last = [...present.keys()].reduce((a, b) => (b > a ? b : a), from.segNo);
  let previous: WalSegment | undefined;
  for (let segNo = from.segNo; segNo <= last; segNo++) {
    const segment = present.get(segNo);
    if (segment) {
      previous = segment;
      continue;
    }
    const after = [...present.values()].filter((s) => s.segNo > segNo).sort((a, b) => (a.segNo < b.segNo ? -1 : 1))[0];
    return {
      missing: segmentName(previous?.timeline ?? from.timeline, segNo, segmentBytes),
      before: previous?.name ?? '(none)',
      after: after?.name ?? null,
      fromLsn: formatLsn(segNo * BigInt(segmentBytes)),
    };
  }
  return null;
}

/**
 * The WAL segments among an archive's file names, sorted by position (then timeline); a segment archived both
 * plain and compressed is listed once, plain.
 *
 * @example
 * walSegmentsIn(['000000010000000000000003.gz', '00000001.history']); // one segment, gzip
 */
export function walSegmentsIn(names: readonly string[], segmentBytes = DEFAULT_SEGMENT_BYTES): WalSegment[] {
  const byName = new Map<string, WalSegment>();
  for (const name of names) {
    const segment = parseSegmentName(name, segmentBytes);
    if (segment && (!byName.has(segment.name) || !segment.compression)) byName.set(segment.name, segment);
  }
  return [...byName.values()].sort((a, b) =>
    a.segNo === b.segNo ? a.timeline - b.timeline : a.segNo < b.segNo ? -1 : 1,
  );
}
