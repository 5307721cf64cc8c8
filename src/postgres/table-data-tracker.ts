import { runCommand } from './run-command.ts';

/** A table as pg_restore names it. */
export interface RestoredTableName {
  readonly schema: string;
  readonly name: string;
}

/**
 * When a table counts as restored for reading:
 * - `data`: its `TABLE DATA` item is done (the rows are final);
 * - `exclusive-steps` (default): that, and every later item of the table that takes an ACCESS EXCLUSIVE lock
 *   (adding a primary key, unique or check constraint, a rule, a policy, row security) is done too. A query
 *   reading the table before then would make pg_restore wait for it, and hold up the restore.
 */
export type RestoredWhen = 'data' | 'exclusive-steps';

/** Items of the table of contents that lock their table ACCESS EXCLUSIVE (tag: `<table> <name>` or `<table>`). */
const EXCLUSIVE_ITEMS = ['CONSTRAINT', 'CHECK CONSTRAINT', 'RULE', 'POLICY', 'ROW SECURITY'];

/**
 * Follows `pg_restore --verbose` with several jobs and says when each table is restored enough to be read
 * without holding up the restore (see {@link RestoredWhen}) — the moment its rows can be checksummed while
 * pg_restore goes on with other tables, indexes and foreign keys. The leader prints `finished item <id> <desc>
 * <tag>` once a worker has committed an item; ids are looked up in the dump's table of contents (`pg_restore
 * --list`). With one job (items one after another, no ids in the output) tables are reported when the restore
 * ends. A table is only ever reported when its name is unambiguous in the table of contents; others are
 * simply not reported (they are compared after the restore instead).
 */
export class TableDataTracker {
  private readonly reported = new Set<string>();
  private readonly loaded = new Set<string>();

  private busy = 0;

  private constructor(
    private readonly toc: TableOfContents,
    private readonly jobs: number,
    private readonly onRestored: (table: RestoredTableName) => void,
    private readonly onWorkers: ((busy: number, jobs: number) => void) | undefined,
  ) {}

  /**
   * Reads the dump's table of contents; a dump whose list cannot be read gets a tracker that reports nothing.
   * `jobs` is pg_restore's `--jobs`. `onWorkers` hears how many of them are busy (launched, not finished)
   * whenever that changes.
   */
  static async forDump(
    pgRestoreBin: string,
    path: string,
    jobs: number,
    onRestored: (table: RestoredTableName) => void,
    options: {
      readonly when?: RestoredWhen;
      readonly signal?: AbortSignal;
      readonly onWorkers?: (busy: number, jobs: number) => void;
    } = {},
  ): Promise<TableDataTracker> {
    let list = '';
    try {
      list = (await runCommand(pgRestoreBin, ['--list', path], { signal: options.signal })).stdout;
    } catch {
      // The restore itself will say what is wrong with the dump.
    }
    return new TableDataTracker(
      parseTableOfContents(list, options.when ?? 'exclusive-steps'),
      jobs,
      onRestored,
      options.onWorkers,
    );
  }

  /** How many tables have data in the dump (its `TABLE DATA` items). */
  get tablesWithData(): number {
    return this.toc.data.size;
  }

  /** Feeds one line of pg_restore's stderr. */
  line(line: string): void {
    if (this.jobs <= 1) return;
    if (/^pg_restore: launching item \d+ /.test(line)) this.workers(+1);
    const finished = /^pg_restore: finished item (\d+) /.exec(line);
    if (!finished) return;
    this.workers(-1);
    const id = Number(finished[1]);
    const data = this.toc.data.get(id);
    if (data) {
      this.loaded.add(key(data));
      this.reportIfReady(data);
      return;
    }
    const table = this.toc.exclusive.get(id);
    if (!table) return;
    const pending = this.toc.pending.get(key(table))!;
    pending.delete(id);
    this.reportIfReady(table);
  }

  /** pg_restore exited successfully: every table with data is restored. */
  end(): void {
    for (const table of this.toc.data.values()) this.report(table);
    if (this.busy !== 0) this.workers(-this.busy);
  }

  private workers(change: number): void {
    this.busy = Math.max(0, this.busy + change);
    this.onWorkers?.(this.busy, this.jobs);
  }

  private reportIfReady(table: RestoredTableName): void {
    if (this.loaded.has(key(table)) && (this.toc.pending.get(key(table))?.size ?? 0) === 0) this.report(table);
  }

  private report(table: RestoredTableName): void {
    if (this.reported.has(key(table))) return;
    this.reported.add(key(table));
    this.onRestored(table);
  }
}

/** What the tracker needs from `pg_restore --list`. */
export interface TableOfContents {
  /** `TABLE DATA` items by id. */
  readonly data: Map<number, RestoredTableName>;
  /** Items that lock a table ACCESS EXCLUSIVE, by id (empty when restored means `data`). */
  readonly exclusive: Map<number, RestoredTableName>;
  /** Per table (`schema.name`), the ids of its exclusive items not finished yet. */
  readonly pending: Map<string, Set<number>>;
}

/**
 * Parses `pg_restore --list`: lines `<id>; <oid> <oid> <desc> <schema> <tag> <owner>`. Names are printed
 * unquoted, so a name with a space cannot be told from the next field: such lines are skipped (a table whose
 * data line is skipped is never reported), and names that occur twice are dropped.
 */
export function parseTableOfContents(list: string, when: RestoredWhen = 'exclusive-steps'): TableOfContents {
  const data = new Map<number, RestoredTableName>();
  const exclusive = new Map<number, RestoredTableName>();
  const seen = new Map<string, number>();
  for (const line of list.split('\n')) {
    const item = /^(\d+); \d+ \d+ (.+)$/.exec(line);
    if (!item) continue;
    const id = Number(item[1]);
    const rest = item[2]!;
    const tableData = /^TABLE DATA (\S+) (\S+)(?: \S*)?$/.exec(rest);
    if (tableData) {
      const table = { schema: tableData[1]!, name: tableData[2]! };
      seen.set(key(table), (seen.get(key(table)) ?? 0) + 1);
      data.set(id, table);
      continue;
    }
    if (when === 'data') continue;
    const desc = EXCLUSIVE_ITEMS.find((d) => rest.startsWith(`${d} `));
    // `<schema> <table> [<name>] [<owner>]`: the table is the word after the schema.
    const words = desc ? rest.slice(desc.length + 1).split(' ') : [];
    if (desc && words.length >= 2 && words.length <= 4) exclusive.set(id, { schema: words[0]!, name: words[1]! });
  }
  for (const [id, table] of data) if (seen.get(key(table))! > 1) data.delete(id);
  const pending = new Map<string, Set<number>>();
  for (const table of data.values()) pending.set(key(table), new Set());
  for (const [id, table] of exclusive) {
    if (pending.has(key(table))) pending.get(key(table))!.add(id);
    else exclusive.delete(id);
  }
  return { data, exclusive, pending };
}

function key(table: RestoredTableName): string {
  return `${table.schema}.${table.name}`;
}
