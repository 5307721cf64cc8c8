import type { DrillProgressEvent } from './drill-run.ts';

// When `restore-drill run` draws progress bars (DrillSettings.progressLines), drills in Vitest worker processes
// report their progress as lines on stderr, which Vitest pipes to the main process (see decodeProgressLine).

// An ASCII record separator starts the line: it never begins a log line, and a terminal shows nothing for it.
const PREFIX = '\u001erestore-drill:progress ';

/** One drill's progress event, as it travels from a worker to the main process. */
export interface ProgressMessage {
  readonly drill: string;
  readonly event: DrillProgressEvent;
}

/**
 * The line a worker writes for one progress event.
 *
 * @example
 * encodeProgressLine('shop', { phase: 'restore', done: 3, total: 7 });
 */
export function encodeProgressLine(drill: string, event: DrillProgressEvent): string {
  return `${PREFIX}${JSON.stringify({ drill, event })}\n`;
}

/**
 * Reads a line written by {@link encodeProgressLine}; any other line gives null.
 *
 * @example
 * decodeProgressLine(line)?.event.phase; // 'restore'
 */
export function decodeProgressLine(line: string): ProgressMessage | null {
  if (!line.startsWith(PREFIX)) return null;
  try {
    const message = JSON.parse(line.slice(PREFIX.length)) as ProgressMessage;
    return typeof message.drill === 'string' && typeof message.event?.phase === 'string' ? message : null;
  } catch {
    return null;
  }
}

/**
 * A drill's progress callback inside a Vitest worker: writes progress lines to stderr when
 * `restore-drill run` asked for them (`progressLines` of its settings), else nothing (CI logs get the plain lines).
 *
 * @example
 * runDrill({ ...options, progress: progressLineWriter(name, settings.progressLines) });
 */
export function progressLineWriter(
  drill: string,
  wanted: boolean | undefined,
): ((event: DrillProgressEvent) => void) | undefined {
  if (!wanted) return undefined;
  return (event) => process.stderr.write(encodeProgressLine(drill, event));
}
