// A server log is written by code in an untrusted backup: it can be gigabytes of warnings, or one line without
// an end. Reading it line by line with a bound on each line and on the whole keeps memory flat whatever it holds.

/** Bounds of {@link boundedLines}. */
export interface LineBounds {
  /** A longer line is cut here (its tail is skipped, not kept). Default 64 KiB. */
  readonly maxLineBytes?: number;
  /** Reading stops after this many bytes, and the source is closed. Default 256 MiB. */
  readonly maxBytes?: number;
}

const DEFAULT_LINE_BYTES = 64 * 1024;
const DEFAULT_MAX_BYTES = 256 * 1024 * 1024;

/** The lines of a byte stream, and what the bounds left out once it has been read. */
export interface BoundedLines extends AsyncIterable<string> {
  /** Lines longer than `maxLineBytes`, cut. */
  readonly cutLines: number;
  /** Bytes read before the stream ended or the bound stopped it. */
  readonly bytesRead: number;
  /** True when `maxBytes` stopped the reading before the stream ended: the rest was not read at all. */
  readonly stopped: boolean;
}

/**
 * Splits a stream of bytes (a file's read stream, a container's log) into UTF-8 lines without ever holding
 * more than one line (at most `maxLineBytes`) in memory, and stops at `maxBytes`, closing the source. After the
 * iteration, `stopped` and `cutLines` say what was left out, so a caller can report it instead of claiming
 * it read everything. Iterate it once.
 *
 * @example
 * const lines = boundedLines(createReadStream(logPath), { maxBytes: 64 * 1024 * 1024 });
 * for await (const line of lines) scan(line);
 * if (lines.stopped) console.warn(`only the first ${lines.bytesRead} bytes were read`);
 */
export function boundedLines(source: AsyncIterable<Buffer | string>, bounds: LineBounds = {}): BoundedLines {
  const maxLine = bounds.maxLineBytes ?? DEFAULT_LINE_BYTES;
  const maxBytes = bounds.maxBytes ?? DEFAULT_MAX_BYTES;
  const state = { cutLines: 0, bytesRead: 0, stopped: false };
  async function* lines(): AsyncGenerator<string> {
    let parts: Buffer[] = [];
    let kept = 0;
    let cut = false;
    const take = (bytes: Buffer) => {
      const room = maxLine - kept;
      if (bytes.length > room) cut = true;
      if (room > 0) {
        const part = bytes.subarray(0, room);
        parts.push(part);
        kept += part.length;
      }
    };
    const end = () => {
      const line = Buffer.concat(parts).toString('utf8').replace(/\r$/, '');
      if (cut) state.cutLines += 1;
      parts = [];
      kept = 0;
      cut = false;
      return line;
    };
    for await (const chunk of source) {
      let bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      if (state.bytesRead + bytes.length > maxBytes) {
        bytes = bytes.subarray(0, maxBytes - state.bytesRead);
        state.stopped = true;
      }
      state.bytesRead += bytes.length;
      let from = 0;
      for (let newline = bytes.indexOf(10); newline !== -1; newline = bytes.indexOf(10, from)) {
        take(bytes.subarray(from, newline));
        yield end();
        from = newline + 1;
      }
      take(bytes.subarray(from));
      // Leaving the loop closes the source (a stream is destroyed): nothing past the bound is read.
      if (state.stopped) break;
    }
    if (kept > 0 || cut) yield end();
  }
  return {
    [Symbol.asyncIterator]: lines,
    get cutLines() {
      return state.cutLines;
    },
    get bytesRead() {
      return state.bytesRead;
    },
    get stopped() {
      return state.stopped;
    },
  };
}
