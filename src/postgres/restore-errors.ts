import { CommandFailedError } from '../errors.ts';

/**
 * What one pg_restore error says about the backup:
 * - `damaged-archive`: pg_restore could not read the archive (truncated, corrupt, not an archive);
 * - `object`: the archive was read, but one of its objects failed to load (a constraint the data violates,
 *   a missing role or extension, a feature the restored server lacks); pg_restore goes on with the rest;
 * - `environment`: the disposable database failed under the restore (disk full, out of memory, connection
 *   lost): not a fault of the backup;
 * - `unknown`: pg_restore stopped for a reason not recognised here; its own words are kept.
 */
export type RestoreErrorKind = 'damaged-archive' | 'object' | 'environment' | 'unknown';

/** One error pg_restore reported, with the server's own lines as evidence. */
export interface RestoreError {
  readonly kind: RestoreErrorKind;
  /** The archive entry that failed, e.g. `FK CONSTRAINT public.orders orders_customer_id_fkey`; null when pg_restore itself failed. */
  readonly object: string | null;
  /** The cause in a few words, e.g. `foreign key violation`, `missing role`, `damaged archive`. */
  readonly cause: string;
  /** The first line of the error, e.g. `ERROR: insert or update on table "orders" violates foreign key constraint …`. */
  readonly message: string;
  readonly detail?: string;
  readonly hint?: string;
  readonly context?: string;
  /** The start of the SQL that failed (pg_restore's `Command was:`), for objects. */
  readonly command?: string;
}

/** How many errors are kept with their lines; the rest are only counted. */
export const MAX_KEPT_ERRORS = 10;

/** The most of a failed command kept as evidence. */
const MAX_COMMAND_CHARS = 200;

const PREFIX = /^pg_restore: /;
// pg_restore 12+ writes `pg_restore: error: …`; 11 and older `pg_restore: [archiver (db)] …`.
const ERROR_LINE = /^pg_restore: (?:error: |\[[^\]]*\] )(.*)$/;
const QUERY_FAILED = /^could not execute query: (.*)$/;
const COPY_FAILED = /^COPY failed for table "(.*)": (.*)$/;
const TOC_ENTRY = /^pg_restore: from TOC entry (\d+); \d+ \d+ (.*)$/;
const CREATING = /^pg_restore: creating (.+?) "(.*)"$/;
const PROCESSING_DATA = /^pg_restore: processing data for table "(.*)"$/;
const IGNORED = /^pg_restore: warning: errors ignored on restore: (\d+)$/;
const WORKER_DIED = /a worker process died unexpectedly/;

/** pg_restore cannot read the archive: these mean the file is not what pg_dump wrote. */
const DAMAGED =
  /could not read (?:from )?input file|unexpected end of file|end of file|did not find magic string|unsupported version|input file is too short|could not find block ID|possibly corrupt|corrupt|could not uncompress|could not decompress|invalid (?:compression|block|header|data|offset|archive|dumpId|toc)|unrecognized (?:data block type|file format|archive format)|found unexpected block ID|unexpected data offset flag|file offset in dump file is too large|could not find entry for ID|input file appears to be a text format dump|does not appear to be a valid archive|not a valid archive/i;

/** The disposable database (or the link to it) failed: the backup is not to blame. */
const ENVIRONMENT =
  /no space left on device|could not extend file|out of memory|server closed the connection|terminating connection|connection to server .* failed|could not connect to server|the database system is (?:shutting down|starting up|in recovery mode)|SSL SYSCALL|could not send data to server|could not receive data from server|too many connections/i;

/** Causes of an object that failed to load, first match wins. */
const OBJECT_CAUSES: ReadonlyArray<readonly [RegExp, string]> = [
  [/violates foreign key constraint/i, 'foreign key violation'],
  [/violates unique constraint|could not create unique index|duplicate key value/i, 'unique violation'],
  [/violates check constraint/i, 'check constraint violation'],
  [/violates not-null constraint|null value in column/i, 'not-null violation'],
  [
    /violates exclusion constraint|could not create exclusion constraint|conflicting key value violates/i,
    'exclusion constraint violation',
  ],
  [/role "[^"]*" does not exist/i, 'missing role'],
  [
    /extension "[^"]*" (?:is not available|does not exist)|could not open extension control file|could not access file "\$libdir/i,
    'missing extension',
  ],
  [
    /invalid input syntax|invalid byte sequence|out of range|extra data after last expected column|missing data for column|invalid input value|value too long/i,
    'invalid data',
  ],
  [
    /syntax error|unrecognized configuration parameter|unrecognized parameter|is not supported|not supported|unsupported/i,
    'not supported by the restored server',
  ],
  [
    /permission denied|must be owner|must be superuser|must be a member/i,
    'insufficient privilege in the disposable database',
  ],
  [/already exists/i, 'already exists in the disposable database'],
  [/does not exist/i, 'missing dependency'],
];

/** What {@link RestoreErrorLog.result} found in pg_restore's stderr. */
export interface RestoreErrorSummary {
  /** The first {@link MAX_KEPT_ERRORS} errors, in the order pg_restore reported them. */
  readonly errors: RestoreError[];
  /** Every error seen, kept or not (pg_restore's own count double-counts with parallel jobs). */
  readonly count: number;
  /** pg_restore's `errors ignored on restore: N`: it finished and restored what it could. Null when it stopped instead. */
  readonly ignored: number | null;
  /** A parallel worker exited on a fatal error (its own error, when it wrote one, is among `errors`). */
  readonly workerDied: boolean;
}

/**
 * Reads pg_restore's `--verbose` stderr line by line and keeps its errors with their `DETAIL:`, `HINT:`,
 * `CONTEXT:` and `Command was:` lines, whatever the job count: with `-j N` a worker's error comes before the
 * leader's "a worker process died unexpectedly", and without `--exit-on-error` pg_restore goes on after an
 * object fails and ends with "errors ignored on restore: N". Each error is classified (see
 * {@link RestoreErrorKind}) and names the archive entry that failed.
 *
 * @example
 * const log = new RestoreErrorLog();
 * await runCommand(pgRestore, args, { onStderrLine: (line) => log.line(line) }).catch(() => {});
 * const { errors, count } = log.result();
 */
export class RestoreErrorLog {
  private readonly kept: MutableError[] = [];
  private count = 0;
  private ignored: number | null = null;
  private workerDied = false;
  /** The block continuation lines belong to (null once a new `pg_restore:` line starts). */
  private open: MutableError | null = null;
  private inCommand = false;
  /** The archive entry named by the last "from TOC entry" line. */
  private entry: { desc: string; tag: string } | null = null;
  /** Qualified names from the verbose "creating …" lines, for naming an entry with its schema. */
  private readonly qualified = new Map<string, string[]>();

  /** Feeds one line of stderr (blank lines may be left out). */
  line(text: string): void {
    if (!PREFIX.test(text)) {
      this.continuation(text);
      return;
    }
    // Newer pg_restore writes an error's detail lines with a prefix of their own.
    const detail = text.match(/^pg_restore: (?:detail|hint): (.*)$/);
    if (detail) {
      this.continuation(detail[1]!);
      return;
    }
    this.open = null;
    this.inCommand = false;
    let m: RegExpMatchArray | null;
    if ((m = text.match(CREATING))) return this.remember(m[1]!, m[2]!);
    if ((m = text.match(PROCESSING_DATA))) return this.remember('TABLE DATA', m[1]!);
    if ((m = text.match(TOC_ENTRY))) {
      this.entry = parseEntry(m[2]!);
      return;
    }
    if ((m = text.match(IGNORED))) {
      this.ignored = Number(m[1]);
      return;
    }
    if (!(m = text.match(ERROR_LINE))) return;
    const body = m[1]!.trim();
    if (WORKER_DIED.test(body)) {
      this.workerDied = true;
      return;
    }
    let q: RegExpMatchArray | null;
    // A failed query or COPY is always one object that failed to load, named or not.
    if ((q = body.match(QUERY_FAILED))) this.add(this.entryName() ?? 'an archive entry', q[1]!);
    else if ((q = body.match(COPY_FAILED))) this.add(`TABLE DATA ${this.qualify('TABLE DATA', q[1]!)}`, q[2]!);
    else this.add(null, body);
    this.entry = null;
  }

  /** The errors so far, classified. */
  result(): RestoreErrorSummary {
    return {
      errors: this.kept.map((e) => ({ ...e })),
      count: this.count,
      ignored: this.ignored,
      workerDied: this.workerDied,
    };
  }

  private add(object: string | null, message: string): void {
    this.count += 1;
    const error = { ...classify(object, message), message: oneLine(message) };
    // An error that stopped pg_restore is kept whatever came before it: it decides what the drill says.
    this.open = this.kept.length < MAX_KEPT_ERRORS || error.kind !== 'object' ? error : null;
    if (this.open) this.kept.push(this.open);
  }

  private continuation(text: string): void {
    const block = this.open;
    if (!block) return;
    const m = text.match(/^(DETAIL|HINT|CONTEXT|Command was):\s*(.*)$/);
    if (m) {
      const value = oneLine(m[2]!);
      this.inCommand = m[1] === 'Command was';
      if (m[1] === 'DETAIL') block.detail ??= value;
      else if (m[1] === 'HINT') block.hint ??= value;
      else if (m[1] === 'CONTEXT') block.context ??= value;
      else block.command = clip(value);
      return;
    }
    if (this.inCommand && block.command !== undefined) block.command = clip(`${block.command} ${oneLine(text)}`);
  }

  private remember(desc: string, name: string): void {
    const names = this.qualified.get(desc) ?? [];
    names.push(name);
    this.qualified.set(desc, names);
  }

  /**
   * `DESC schema.tag` when a "creating" line named the entry with its schema, else `DESC tag`; an entry that
   * belongs to a table (`FK CONSTRAINT orders orders_fkey`) reads `FK CONSTRAINT orders_fkey on public.orders`.
   */
  private entryName(): string | null {
    if (!this.entry) return null;
    const { desc, tag } = this.entry;
    const name = this.qualify(desc, tag);
    const parts = name.split(' ');
    if (ON_TABLE.has(desc) && parts.length === 2) return `${desc} ${parts[1]} on ${parts[0]}`;
    return `${desc} ${name}`;
  }

  /** `schema.tag` as the last verbose line about an entry of this kind named it, else the tag as it is. */
  private qualify(desc: string, tag: string): string {
    return (this.qualified.get(desc) ?? []).findLast((n) => n === tag || n.endsWith(`.${tag}`)) ?? tag;
  }
}

type MutableError = { -readonly [K in keyof RestoreError]: RestoreError[K] };

/**
 * pg_restore prints an entry as `DESC TAG OWNER` where DESC and TAG may contain spaces. DESC is one of a known
 * set, OWNER the last word.
 */
function parseEntry(text: string): { desc: string; tag: string } {
  const desc = ENTRY_DESCS.find((d) => text.startsWith(`${d} `)) ?? text.split(' ')[0]!;
  const rest = text.slice(desc.length + 1);
  const owner = rest.lastIndexOf(' ');
  return { desc, tag: owner > 0 ? rest.slice(0, owner) : rest };
}

/** Entries pg_dump tags `table name`. */
const ON_TABLE = new Set([
  'CONSTRAINT',
  'FK CONSTRAINT',
  'CHECK CONSTRAINT',
  'TRIGGER',
  'POLICY',
  'RULE',
  'ROW SECURITY',
]);

/** Archive entry kinds of more than one word first, so the longest matches. */
const ENTRY_DESCS = [
  'TABLE DATA',
  'FK CONSTRAINT',
  'CHECK CONSTRAINT',
  'SEQUENCE SET',
  'SEQUENCE OWNED BY',
  'DEFAULT ACL',
  'MATERIALIZED VIEW DATA',
  'MATERIALIZED VIEW',
  'INDEX ATTACH',
  'TABLE ATTACH',
  'EVENT TRIGGER',
  'FOREIGN TABLE',
  'FOREIGN DATA WRAPPER',
  'FOREIGN SERVER',
  'USER MAPPING',
  'LARGE OBJECT',
  'BLOB DATA',
  'BLOBS',
  'ROW SECURITY',
  'PUBLICATION TABLE',
  'PUBLICATION TABLES IN SCHEMA',
  'TEXT SEARCH CONFIGURATION',
  'TEXT SEARCH DICTIONARY',
  'TEXT SEARCH PARSER',
  'TEXT SEARCH TEMPLATE',
  'OPERATOR CLASS',
  'OPERATOR FAMILY',
  'SHELL TYPE',
  'PROCEDURAL LANGUAGE',
  'ACCESS METHOD',
  'DATABASE PROPERTIES',
];

function classify(object: string | null, message: string): Pick<RestoreError, 'kind' | 'object' | 'cause'> {
  if (ENVIRONMENT.test(message)) return { kind: 'environment', object, cause: 'the disposable database failed' };
  if (object === null) {
    if (DAMAGED.test(message)) return { kind: 'damaged-archive', object, cause: 'damaged archive' };
    return { kind: 'unknown', object, cause: 'pg_restore stopped' };
  }
  const cause = OBJECT_CAUSES.find(([pattern]) => pattern.test(message))?.[1] ?? 'failed to load';
  return { kind: 'object', object, cause };
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

function clip(text: string): string {
  return text.length > MAX_COMMAND_CHARS ? `${text.slice(0, MAX_COMMAND_CHARS - 1)}…` : text;
}

/** One error as a line: what failed, why, and the server's DETAIL. */
export function formatRestoreError(error: RestoreError): string {
  const what = error.object ? `${error.object}: ${error.cause} — ` : '';
  const extra = [
    error.detail && `DETAIL: ${error.detail}`,
    error.hint && `HINT: ${error.hint}`,
    error.context && `CONTEXT: ${error.context}`,
  ].filter(Boolean);
  return `${what}${error.message}${extra.length ? ` ${extra.join(' ')}` : ''}`;
}

/** How many errors a report's check detail lists; the rest are counted. */
export const MAX_LISTED_ERRORS = 5;

/** The first errors, one per line, and how many more there were. */
export function formatRestoreErrors(
  summary: Pick<RestoreErrorSummary, 'errors' | 'count'>,
  max = MAX_LISTED_ERRORS,
): string {
  const listed = summary.errors.slice(0, max).map(formatRestoreError);
  const more = summary.count - listed.length;
  if (listed.length === 0 && more > 0)
    return `${more} error${more === 1 ? '' : 's'} in a form not recognised (pg_restore's last lines are in the drill's log)`;
  return [...listed, ...(more > 0 ? [`… and ${more} more`] : [])].join('\n');
}

/**
 * pg_restore failed: the archive could not be read, or the disposable database failed under it, or it stopped
 * for a reason it gave. `kind` says which; `errors` holds its lines as evidence. The drill reports it and
 * verifies nothing, since nothing may have been restored.
 */
export class RestoreFailedError extends CommandFailedError {
  constructor(
    code: number | null,
    readonly kind: Exclude<RestoreErrorKind, 'object'>,
    readonly summary: RestoreErrorSummary,
    stderrTail: string,
  ) {
    super('pg_restore', code, stderrTail, HINTS[kind]);
    const first = summary.errors.find((e) => e.kind === kind) ?? summary.errors[0];
    const what =
      kind === 'damaged-archive'
        ? 'the archive is damaged: pg_restore could not read it'
        : kind === 'environment'
          ? 'the disposable database failed during the restore (not a fault of the backup)'
          : 'pg_restore stopped';
    const also = summary.errors.filter((e) => e.kind === 'object').length;
    this.message =
      `pg_restore exited with code ${code ?? 'signal'}: ${what}` +
      (first
        ? ` (${formatRestoreError(first)})`
        : summary.workerDied
          ? ' (a worker process died without saying why)'
          : '') +
      (also ? `; before that ${also} object(s) failed to load` : '');
  }
}

const HINTS: Record<RestoreFailedError['kind'], string> = {
  'damaged-archive': 'the dump is damaged or incomplete; check how it was copied',
  environment: 'give the disposable database more disk or memory, or retry; the backup was not judged',
  unknown: "read pg_restore's lines above; the backup was not judged damaged",
};

/**
 * pg_restore read the whole archive and restored what it could, but some objects failed to load. Not a reason
 * to stop the drill: every table and object is still compared, and `restore completed` fails with the list.
 */
export class RestoreIncompleteError extends CommandFailedError {
  constructor(
    code: number | null,
    readonly summary: RestoreErrorSummary,
    stderrTail: string,
  ) {
    super('pg_restore', code, stderrTail, 'the objects named failed to load; the checks show what came back');
    const first = summary.errors[0];
    this.message =
      `pg_restore completed with ${summary.count} error${summary.count === 1 ? '' : 's'}: ` +
      `${summary.count === 1 ? 'one object' : 'objects'} failed to load${first ? ` (${formatRestoreError(first)})` : ''}`;
  }
}

/**
 * The error to throw for a pg_restore (on the host or in a container) that exited non-zero: its classified
 * errors, and its telling stderr lines in the log — the evidence for errors in a form not recognised here
 * (`--verbose` floods stderr with progress, so only lines that explain the failure are kept).
 *
 * @example
 * catch (error) { if (error instanceof CommandFailedError) throw describeRestoreFailure(error, errors, log); throw error; }
 */
export function describeRestoreFailure(
  error: CommandFailedError,
  errors: RestoreErrorLog,
  log: (line: string) => void,
): RestoreFailedError | RestoreIncompleteError {
  const evidence = error.stderrTail
    .split('\n')
    .filter((line) => /error|fatal|could not|invalid|unexpected|corrupt/i.test(line))
    .slice(-8)
    .join('\n');
  const failure = restoreFailure(error.code, errors.result(), evidence || error.stderrTail);
  for (const line of (evidence || error.stderrTail).split('\n')) if (line.trim()) log(`restore: ${line}`);
  log(`restore: ${failure.message}`);
  return failure;
}

/**
 * The outcome of a pg_restore run that exited non-zero, as the error to throw: {@link RestoreFailedError} when
 * it could not finish (a damaged archive wins over everything else, then a failed environment), else
 * {@link RestoreIncompleteError} when it finished with object errors.
 */
export function restoreFailure(
  code: number | null,
  summary: RestoreErrorSummary,
  stderrTail: string,
): RestoreFailedError | RestoreIncompleteError {
  const kinds = new Set(summary.errors.map((e) => e.kind));
  if (kinds.has('damaged-archive')) return new RestoreFailedError(code, 'damaged-archive', summary, stderrTail);
  if (kinds.has('environment')) return new RestoreFailedError(code, 'environment', summary, stderrTail);
  // Finished (it says how many errors it ignored) with only object errors: the restore is incomplete, not failed.
  if (summary.ignored !== null && !summary.workerDied && !kinds.has('unknown')) {
    // Errors in a form not recognised here are still errors: pg_restore's own count stands in for ours.
    return new RestoreIncompleteError(
      code,
      summary.count > 0 ? summary : { ...summary, count: Math.max(1, summary.ignored) },
      stderrTail,
    );
  }
  return new RestoreFailedError(code, 'unknown', summary, stderrTail);
}
