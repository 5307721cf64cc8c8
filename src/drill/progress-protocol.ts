import type { DrillProgressEvent } from './run-drill.ts';

/**
 * Set by `restore-drill run` when it draws progress bars: drills in Vitest worker processes then report
 * their progress as lines on stderr, which Vitest pipes to the main process (see {@link decodeProgressLine}).
 */
export const PROGRESS_ENV = 'RESTORE_DRILL_PROGRESS';

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
 * `restore-drill run` asked for them ({@link PROGRESS_ENV}), else nothing (CI logs get the plain lines).
 *
 * @example
 * runDrill({ ...options, progress: progressLineWriter(name) });
 */
export function progressLineWriter(drill: string): ((event: DrillProgressEvent) => void) | undefined {
  if (!process.env[PROGRESS_ENV]) return undefined;
  return (event) => process.stderr.write(encodeProgressLine(drill, event));
}
