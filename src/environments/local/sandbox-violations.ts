import { createReadStream } from 'node:fs';
import { isAbsolute, normalize } from 'node:path';
import { boundedLines, type LineBounds } from '../../util/bounded-lines.ts';
import type { SandboxViolation } from '../environment.ts';

/** A backup that floods the log still gets a bounded report: the first ones are listed, the rest counted. */
const MAX_LISTED = 20;
/** An entry's CONTEXT, statement or detail is kept up to about this many characters. */
const MAX_FIELD = 16 * 1024;
/** Payload text shown in a report is cut to this length. */
const MAX_TEXT = 160;

/** `2026-12-02 04:43:36.845 UTC [9] ERROR:  message` — the `log_line_prefix` of {@link SERVER_LOG_SETTINGS}. */
const ENTRY = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)? \S+ \[\d+\] ([A-Z]+):  (.*)$/;

interface Entry {
  level: string;
  message: string;
  context: string;
  statement: string;
  detail: string;
  field: 'message' | 'context' | 'statement' | 'detail' | 'other';
}

/**
 * The server settings whose log {@link scanServerLogLines} reads: every error with its statement and CONTEXT,
 * each line prefixed as `ENTRY` expects, on the server's stderr (not a log file of the server's own choosing).
 *
 * @example
 * const settings = { ...restoreTuning(), ...SERVER_LOG_SETTINGS };
 */
export const SERVER_LOG_SETTINGS: Readonly<Record<string, string | boolean>> = {
  logging_collector: false,
  log_destination: 'stderr',
  log_min_messages: 'warning',
  log_min_error_statement: 'error',
  log_error_verbosity: 'default',
  log_line_prefix: '%m [%p] ',
};

/** What {@link scanServerLogStream} found, and what of the log it did not read (a flood past its bound). */
export interface ScannedServerLog {
  readonly found: SandboxViolation[];
  /** Set when the log was larger than the bound: what was not scanned, for the `restore sandbox` check. */
  readonly unscanned?: string;
}

/**
 * Finds, in a sandboxed server's log file, the errors the sandbox causes when code in the restored backup tries
 * to leave it: see {@link scanServerLogStream}. A missing file has none.
 *
 * @example
 * await scanServerLog('/tmp/restore-drill-…/server.log', ['/tmp/restore-drill-…/data']);
 * // { found: [{ attempt: 'run a program', object: 'function public.evil() during COPY public.orders', message: '…' }] }
 */
export async function scanServerLog(
  path: string,
  ownDirs: readonly string[],
  bounds?: LineBounds,
): Promise<ScannedServerLog> {
  try {
    return await scanServerLogStream(createReadStream(path), ownDirs, bounds);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    return { found: [] };
  }
}

/**
 * {@link scanServerLogLines} over a log's bytes, read line by line within bounds (256 MiB, lines cut at 64 KiB):
 * a backup whose code floods the log cannot exhaust the harness's memory. Past the bound nothing is read, and
 * `unscanned` says so: an attempt there would not be seen. A cut line loses only its tail; what the scan
 * matches (the prefix and the start of the message) is at its start.
 *
 * @example
 * const { found, unscanned } = await scanServerLogStream(logStream, ['/var/lib/postgresql/data']);
 */
export async function scanServerLogStream(
  bytes: AsyncIterable<Buffer | string>,
  ownDirs: readonly string[],
  bounds?: LineBounds,
): Promise<ScannedServerLog> {
  const lines = boundedLines(bytes, bounds);
  const found = await scanServerLogLines(lines, ownDirs);
  if (!lines.stopped) return { found };
  const cut = lines.cutLines ? `, ${lines.cutLines} over-long line(s) cut` : '';
  return {
    found,
    unscanned: `the server log is larger than ${formatBytes(lines.bytesRead)} (a flood of messages): only that much was scanned${cut}, the rest was not`,
  };
}

function formatBytes(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${Math.round(bytes / 1024 / 1024)} MiB` : `${bytes} bytes`;
}

/**
 * Finds, in the lines of a sandboxed server's log (written with {@link SERVER_LOG_SETTINGS}), the errors the
 * sandbox causes when code in the restored backup tries to leave it: a program that cannot run or fails (no
 * shell, no network), a file outside the data directory (read-only or absent), a network connection (there is
 * no network). Each names the object whose code it was, from the error's CONTEXT and STATEMENT lines. Code
 * that catches its own errors leaves no trace here: it is still confined, but not reported.
 *
 * @example
 * await scanServerLogLines(containerLog.split('\n'), ['/var/lib/postgresql/data']);
 * // [{ attempt: 'connect over the network', object: 'function public.remote() during REFRESH …', message: '…' }]
 */
export async function scanServerLogLines(
  lines: AsyncIterable<string> | Iterable<string>,
  ownDirs: readonly string[],
): Promise<SandboxViolation[]> {
  const found: SandboxViolation[] = [];
  let more = 0;
  let current: Entry | undefined;
  const finish = () => {
    if (!current) return;
    const violation = classify(current, ownDirs);
    if (violation && !found.some((v) => v.attempt === violation.attempt && v.object === violation.object)) {
      if (found.length < MAX_LISTED) found.push(violation);
      else more += 1;
    }
    current = undefined;
  };
  // Only an entry's start is ever shown or matched: a statement of a million lines is not kept whole.
  const append = (entry: Entry, field: Entry['field'] & keyof Entry, text: string) => {
    if (entry[field].length < MAX_FIELD) entry[field] += text;
    entry.field = field;
  };
  for await (const line of lines) {
    const entry = ENTRY.exec(line);
    if (entry) {
      const [, level, text] = entry as unknown as [string, string, string];
      if (current && level === 'CONTEXT') append(current, 'context', `${text}\n`);
      else if (current && level === 'STATEMENT') append(current, 'statement', text);
      else if (current && level === 'DETAIL') append(current, 'detail', text);
      else if (current && (level === 'HINT' || level === 'QUERY' || level === 'LOCATION')) current.field = 'other';
      else {
        finish();
        current = { level, message: text, context: '', statement: '', detail: '', field: 'message' };
      }
    } else if (current && current.field !== 'other') {
      // A continuation line of a multi-line message, CONTEXT or statement.
      append(current, current.field, current.field === 'context' ? `${line.trim()}\n` : ` ${line.trim()}`);
    }
  }
  finish();
  if (more)
    found.push({
      attempt: `do more of the same (${more} further blocked attempts not listed)`,
      object: 'see the server log',
      message: '',
    });
  return found;
}

const PROGRAM = [
  /^could not execute command "(.*)"/,
  /^program "(.*)" failed/,
  /could not popen/i,
  /^could not close pipe to external command/,
];
const NETWORK = [
  /could not establish connection/i,
  /could not connect to (?:server|database)/i,
  /connection to server .* failed/i,
  /network is unreachable/i,
  /connection refused/i,
  /could not translate host name/i,
  /no route to host/i,
  /temporary failure in name resolution/i,
];
const FILE =
  /^could not (open|create|write|read|stat|access|remove|rename|link|truncate|fsync|change permissions of|open directory|create directory|load library)(?: (?:server )?(?:file|directory)(?: or directory)?)? "([^"]+)"(.*)$/;
const BLOCKED = /read-only file system|permission denied|no such file or directory|operation not permitted/i;

function classify(entry: Entry, ownDirs: readonly string[]): SandboxViolation | null {
  if (!['ERROR', 'WARNING', 'FATAL', 'LOG'].includes(entry.level)) return null;
  const message = entry.message;
  let attempt: string | null = null;
  const program = PROGRAM.map((pattern) => pattern.exec(message)).find(Boolean);
  if (program) attempt = `run a program${program[1] ? ` (${clip(program[1], 80)})` : ''}`;
  else if (NETWORK.some((pattern) => pattern.test(`${message} ${entry.detail}`))) attempt = 'connect over the network';
  else {
    const file = FILE.exec(message);
    if (
      file &&
      BLOCKED.test(`${file[3]} ${entry.detail}`) &&
      isAbsolute(file[2]!) &&
      !ownDirs.some((dir) => inside(file[2]!, dir))
    ) {
      const writing =
        /write|create|remove|rename|link|truncate|change permissions/.test(file[1]!) || /for writing/.test(file[3]!);
      attempt = `${writing ? 'write' : 'read'} a file outside its data directory (${clip(file[2]!, 80)})`;
    }
  }
  if (!attempt) return null;
  return { attempt, object: objectOf(entry), message: clip(message, MAX_TEXT) };
}

/** The function from the CONTEXT lines and the statement it ran in (its first words: the object restored or checked). */
function objectOf(entry: Entry): string {
  const functions = [...entry.context.matchAll(/(?:PL\/pgSQL function|SQL function "?)([^\s"(]+(?:\([^)]*\))?)/g)].map(
    (m) => m[1]!,
  );
  // CONTEXT lists the innermost function first: name it, and the outermost one (what the object calls) when they differ.
  const [innermost, outermost] = [functions[0], functions.at(-1)];
  const fn = innermost && outermost && innermost !== outermost ? `${innermost} via ${outermost}` : innermost;
  const copyLine = /^COPY (\S+), line \d+/m.exec(entry.context)?.[1];
  const statement = entry.statement.replace(/\s+/g, ' ').replace(/;\s*$/, '').trim();
  const where = statementHead(statement) || (copyLine ? `COPY ${copyLine}` : '');
  const parts = [fn ? `function ${fn}` : null, where ? `during ${where}` : null].filter(Boolean);
  return clip(parts.join(' ') || 'an unnamed statement', MAX_TEXT);
}

/** `CREATE INDEX idx ON public.t USING btree (f(a))` → `CREATE INDEX idx ON public.t`. */
function statementHead(statement: string): string {
  if (!statement) return '';
  const head =
    /^(CREATE (?:UNIQUE )?INDEX \S+ ON (?:ONLY )?\S+)/i.exec(statement)?.[1] ??
    /^(REFRESH MATERIALIZED VIEW (?:CONCURRENTLY )?\S+)/i.exec(statement)?.[1] ??
    /^(CREATE (?:MATERIALIZED VIEW|EVENT TRIGGER|TRIGGER|CAST|FUNCTION|TABLE) \S+)/i.exec(statement)?.[1] ??
    /^(ALTER TABLE (?:ONLY )?\S+ ADD CONSTRAINT \S+)/i.exec(statement)?.[1] ??
    /^(COPY \S+)/i.exec(statement)?.[1] ??
    statement;
  return clip(head, 100);
}

function inside(path: string, dir: string): boolean {
  const normal = normalize(path);
  return normal === dir || normal.startsWith(`${dir}/`);
}

/** Payload-controlled text, made safe for one line of a report. */
function clip(text: string, max: number): string {
  const clean = text.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  return clean.length > max ? `${clean.slice(0, max - 1)}…` : clean;
}
