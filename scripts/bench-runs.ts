// The alternatives the benchmark times: a restore by hand (the baseline users write today, and the floor:
// the least any verified restore can cost), and a full `restore-drill check` in its own process.
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import type { StartedEnvironment } from '../src/environments/environment.ts';
import { newRunId } from '../src/environments/labels.ts';
import { localPostgres } from '../src/environments/local/local-postgres.ts';
import { findPgBinaries } from '../src/postgres/pg-binaries.ts';
import { runCommand } from '../src/postgres/run-command.ts';
import { parseQualifiedName, quoteTable } from '../src/markers/checksum-sql.ts';
import { BENCH_DIR } from './bench-database.ts';

/** One timed run of one alternative. */
export interface RunResult {
  /** End to end, including starting and removing the cluster (and, for restore-drill, its own process). */
  readonly seconds: number;
  /**
   * Seconds per phase: provision, restore, verify; for restore-drill also `startup` (loading the CLI) and
   * `locate`; `other` is everything else (report, teardown, …).
   */
  readonly phases: Record<string, number>;
  /** Peak memory of the restore-drill process, in kB. */
  readonly rssKb?: number;
  /** Checksum algorithms a restore-drill report lists. */
  readonly algorithms?: string[];
}

/** How a hand-made restore is done. */
export interface HandRestoreOptions {
  /** `none`: a plain initdb cluster; `restore`: restore-drill's restore tuning. */
  readonly tuning: 'none' | 'restore';
  /** true: copy restore-drill's cached initdb template (as drills do); false: initdb, as a script would. */
  readonly template: boolean;
  readonly jobs: number;
  /** Server settings on top of the tuning. */
  readonly settings?: Record<string, string | number | boolean>;
  /** `md5`: count(*) and md5(string_agg(t::text, '' order by key)) per table; `count`: count(*) only. */
  readonly verify: 'md5' | 'count';
  /** Runs after the timed part, before the cluster is removed (not timed here). */
  readonly after?: (env: StartedEnvironment) => Promise<void>;
}

/**
 * A restore by hand: a local cluster (same binaries and start-up as restore-drill's), `pg_restore`, then a
 * scan per table of the dump's manifest, one table after another on one connection, like a script would.
 */
export async function handRestore(
  dumpPath: string,
  tables: readonly string[],
  options: HandRestoreOptions,
): Promise<RunResult> {
  const pgRestore = findPgBinaries({ tools: ['pg_restore'] }).path('pg_restore');
  const started = performance.now();
  const env = await localPostgres({
    tuning: options.tuning,
    settings: options.settings,
    template: options.template,
  }).start({ runId: newRunId(), drillName: 'bench', log: () => {} });
  const phases: Record<string, number> = { provision: seconds(started) };
  try {
    let at = performance.now();
    await runCommand(
      pgRestore,
      [
        '--no-owner',
        '--no-privileges',
        '--exit-on-error',
        `--jobs=${options.jobs}`,
        `--dbname=${env.database}`,
        dumpPath,
      ],
      {
        env: env.libpqEnv(),
      },
    );
    phases.restore = seconds(at);
    at = performance.now();
    await scanTables(env.connectionConfig(), tables, options.verify);
    phases.verify = seconds(at);
    if (options.after) await options.after(env);
  } finally {
    const at = performance.now();
    await env.stop();
    phases.other = seconds(at);
  }
  return { seconds: Object.values(phases).reduce((a, b) => a + b, 0), phases };
}

async function scanTables(config: pg.ClientConfig, tables: readonly string[], verify: 'md5' | 'count'): Promise<void> {
  const client = new pg.Client(config);
  await client.connect();
  try {
    for (const name of tables) {
      const table = quoteTable(parseQualifiedName(name));
      await client.query(`select count(*) from only ${table}`);
      if (verify === 'md5') {
        const key = await primaryKey(client, table);
        const order = key.length > 0 ? key.map((column) => `t.${pg.escapeIdentifier(column)}`).join(', ') : 't::text';
        await client.query(`select md5(string_agg(t::text, '' order by ${order})) from only ${table} t`);
      }
    }
  } finally {
    await client.end();
  }
}

async function primaryKey(client: pg.ClientBase, table: string): Promise<string[]> {
  const { rows } = await client.query<{ name: string }>(
    `select a.attname as name from pg_index i cross join lateral unnest(i.indkey) with ordinality k(attnum, ord)
     join pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum
     where i.indrelid = $1::regclass and i.indisprimary order by k.ord`,
    [table],
  );
  return rows.map((row) => row.name);
}

/** Options of {@link restoreDrillCheck}. */
export interface RestoreDrillOptions {
  readonly signingKey: string;
  /** Run the drill without loading the CLI's other commands, from the sources (see scripts/bench-drill.js). */
  readonly lean?: boolean;
  /** Run the CLI from the sources through tsx even when the bundle is fresh (start-up before the bundle). */
  readonly tsx?: boolean;
  /** Run initdb for the drill's cluster instead of copying the cached template (implies lean). */
  readonly initdb?: boolean;
  /** More `restore-drill check` arguments, e.g. `['--jobs', '4']`. */
  readonly args?: readonly string[];
}

/**
 * `restore-drill check --dump PATH` in its own process (scripts/bench-drill.js, which runs the CLI's main as bin/restore-drill.js does and
 * records the process's own max RSS). The phases come from the signed report it writes; the run must pass.
 */
export async function restoreDrillCheck(dumpPath: string, options: RestoreDrillOptions): Promise<RunResult> {
  const work = await mkdtemp(join(BENCH_DIR, 'run-'));
  try {
    const rssFile = join(work, 'rss');
    const mode = options.initdb ? ['--initdb'] : options.lean ? ['--lean'] : options.tsx ? ['--tsx'] : [];
    const args = ['scripts/bench-drill.js', rssFile, ...mode];
    args.push(
      'check',
      '--dump',
      dumpPath,
      '--report-dir',
      join(work, 'reports'),
      '--signing-key',
      options.signingKey,
      ...(options.args ?? []),
    );
    const started = performance.now();
    const code = await new Promise<number | null>((done, fail) => {
      const child = spawn(process.execPath, args, {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, NO_COLOR: '1' },
      });
      const log = createWriteStream(join(BENCH_DIR, 'last-check.log'));
      child.stdout.pipe(log, { end: false });
      child.stderr.pipe(log, { end: false });
      child.on('error', fail);
      child.on('close', (exitCode) => {
        log.end();
        done(exitCode);
      });
    });
    const total = seconds(started);
    const reports = (await readdir(join(work, 'reports')).catch(() => [])).filter((name) =>
      name.endsWith('.report.json'),
    );
    if (reports.length !== 1)
      throw new Error(
        `restore-drill check exited with ${code} and wrote no report: see ${join(BENCH_DIR, 'last-check.log')}`,
      );
    const envelope = JSON.parse(await readFile(join(work, 'reports', reports[0]!), 'utf8')) as { payload: string };
    const report = (JSON.parse(Buffer.from(envelope.payload, 'base64').toString('utf8')) as { predicate: unknown })
      .predicate as {
      status: string;
      phases: Array<{ name: string; seconds: number }>;
      checks: Array<{ name: string; status: string; detail?: string }>;
      algorithms: string[];
    };
    if (report.status !== 'passed' || code !== 0) {
      const failed = report.checks
        .filter((check) => check.status !== 'passed')
        .map((check) => `${check.name}: ${check.detail ?? ''}`);
      throw new Error(`restore-drill check ${report.status} (exit ${code}): ${failed.join('; ')}`);
    }
    const { maxRssKb, startupSeconds } = JSON.parse(await readFile(rssFile, 'utf8')) as {
      maxRssKb: number;
      startupSeconds: number;
    };
    const phases: Record<string, number> = { startup: startupSeconds };
    for (const phase of report.phases) phases[phase.name] = phase.seconds;
    phases.other = total - Object.values(phases).reduce((sum, s) => sum + s, 0);
    return { seconds: total, phases, rssKb: maxRssKb, algorithms: report.algorithms };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

function seconds(since: number): number {
  return (performance.now() - since) / 1000;
}
