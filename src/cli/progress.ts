import { Writable } from 'node:stream';
import { createRequire } from 'node:module';
import type { SingleBar } from 'cli-progress';
import type { DrillProgressEvent } from '../drill/run-drill.ts';
import { redact } from '../util/redact.ts';
import { decodeProgressLine } from '../drill/progress-protocol.ts';

/**
 * What the person watching a run sees. On a terminal: one progress bar per drill with its phase, and
 * tables done of total while restoring and verifying; log lines scroll above the bars. Otherwise (CI
 * logs, a pipe): the plain `[drill] line` log lines, nothing else.
 */
export interface ProgressDisplay {
  /** True when bars are drawn. */
  readonly tty: boolean;
  /** One log line of a drill (redacted here). */
  log(drill: string, line: string): void;
  /** A drill entered a phase or got further in it. */
  update(drill: string, event: DrillProgressEvent): void;
  /** A drill is done: its bar shows the outcome. */
  finish(drill: string, outcome: string): void;
  /** Text for stdout (summaries); printed above the bars while they are drawn on the same terminal. */
  print(text: string): void;
  /** One warning line on stderr. */
  warn(line: string): void;
  /** Takes the drill workers' stderr: progress lines move the bars, all other text is shown as it is. */
  readonly workerStderr: Writable;
  /** Draws the final state and gives the terminal back (cursor shown). Safe to call twice. */
  stop(): void;
}

/** Where and how to draw; defaults: the process's stdout and stderr, bars when stderr is a TTY. */
export interface ProgressDisplayOptions {
  readonly stdout?: NodeJS.WritableStream & { isTTY?: boolean };
  readonly stderr?: NodeJS.WritableStream & { isTTY?: boolean };
  /** Draw bars; default `stderr.isTTY`. */
  readonly tty?: boolean;
}

const NAME_WIDTH = 28;

/**
 * Makes the display for one `run` or `check`.
 *
 * @example
 * const display = createProgressDisplay();
 * await runDrill({ ...run, log: (l) => display.log(name, l), progress: (e) => display.update(name, e) });
 * display.stop();
 */
export function createProgressDisplay(options: ProgressDisplayOptions = {}): ProgressDisplay {
  const stdout = options.stdout ?? process.stdout;
  const stderr = options.stderr ?? process.stderr;
  const tty = options.tty ?? stderr.isTTY === true;
  return tty ? barDisplay(stdout, stderr) : plainDisplay(stdout, stderr);
}

function plainDisplay(stdout: NodeJS.WritableStream, stderr: NodeJS.WritableStream): ProgressDisplay {
  const workerStderr = lineStream((line) => {
    if (!decodeProgressLine(line)) stderr.write(`${line}\n`);
  });
  return {
    tty: false,
    log: (drill, line) => stderr.write(`[${drill}] ${redact(line)}\n`),
    update: () => {},
    finish: () => {},
    print: (text) => stdout.write(text),
    warn: (line) => stderr.write(`${line}\n`),
    workerStderr,
    stop: () => workerStderr.end(),
  };
}

function barDisplay(
  stdout: NodeJS.WritableStream & { isTTY?: boolean },
  stderr: NodeJS.WritableStream,
): ProgressDisplay {
  // Loaded only for a terminal: CI and scripts (no TTY) never draw bars, and it is ≈ 0.1 s of every start-up.
  const cliProgress = createRequire(import.meta.url)('cli-progress') as typeof import('cli-progress');
  const multibar = new cliProgress.MultiBar({
    stream: stderr,
    format: ' {drill} {bar} {phase} {counts}',
    barCompleteChar: '█',
    barIncompleteChar: '░',
    barsize: 24,
    hideCursor: true,
    // run.ts owns SIGINT/SIGTERM (drills write their reports before the process ends).
    gracefulExit: false,
    clearOnComplete: false,
    fps: 10,
  });
  const bars = new Map<string, SingleBar>();
  const showCursor = () => stderr.write('\u001b[?25h');
  // A second Ctrl-C exits at once: leave the terminal with a visible cursor.
  process.once('exit', showCursor);
  let stopped = false;

  const bar = (drill: string): SingleBar => {
    let found = bars.get(drill);
    if (!found) {
      found = multibar.create(1, 0, { drill: fit(drill), phase: 'starting', counts: '' });
      bars.set(drill, found);
    }
    return found;
  };
  const above = (text: string) => {
    if (stopped) stderr.write(text);
    else multibar.log(text.endsWith('\n') ? text : `${text}\n`);
  };
  const shownPhase = new Map<string, string>();
  const update = (drill: string, event: DrillProgressEvent) => {
    if (stopped) return; // a redraw would restart cli-progress's timer after stop()
    const counted = event.total !== undefined && event.done !== undefined;
    const total = counted ? Math.max(event.total, 1) : 1;
    const done = counted ? Math.min(event.done, total) : event.phase === 'report' ? 1 : 0;
    const counts = counted ? `${event.done}/${event.total} tables` : '';
    const target = bar(drill);
    target.setTotal(total);
    target.update(done, { phase: event.phase, counts });
    // Redraws are throttled (10 per second); a new phase and a phase's last table are always drawn.
    if (shownPhase.get(drill) !== event.phase || (counted && done === total)) multibar.update();
    shownPhase.set(drill, event.phase);
  };

  const workerStderr = lineStream((line) => {
    const message = decodeProgressLine(line);
    if (message) update(message.drill, message.event);
    else above(line);
  });
  return {
    tty: true,
    log: (drill, line) => above(`[${drill}] ${redact(line)}`),
    update,
    finish: (drill, outcome) => {
      if (stopped) return;
      const target = bar(drill);
      target.update(target.getTotal(), { phase: outcome, counts: '' });
      multibar.update();
    },
    // Only when stdout is the same terminal do its lines have to go above the bars; a redirected stdout
    // (a file, a pipe) gets them directly.
    print: (text) => (stdout.isTTY ? above(text) : stdout.write(text)),
    warn: (line) => above(line),
    workerStderr,
    stop: () => {
      if (stopped) return;
      workerStderr.end();
      stopped = true;
      // cli-progress prints logged lines on its next redraw only: flush them, then draw the final state.
      multibar.update();
      multibar.stop();
      process.off('exit', showCursor);
    },
  };
}

/** A drill name cut or padded to a fixed width, so the bars line up. */
function fit(name: string): string {
  return name.length > NAME_WIDTH ? `${name.slice(0, NAME_WIDTH - 1)}…` : name.padEnd(NAME_WIDTH);
}

/**
 * A writable stream that calls `onLine` for each complete line written to it. Every worker's stderr is
 * piped into it and `pipe()` ends the destination when a worker exits, so `end()` only passes on an
 * unfinished last line: the stream lives as long as the run.
 */
function lineStream(onLine: (line: string) => void): Writable {
  let pending = '';
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) onLine(line);
      done();
    },
  });
  stream.end = ((...args: unknown[]) => {
    if (pending) onLine(pending);
    pending = '';
    const callback = args.find((a) => typeof a === 'function') as (() => void) | undefined;
    callback?.();
    return stream;
  }) as Writable['end'];
  return stream;
}
