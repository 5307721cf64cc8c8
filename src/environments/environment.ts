import type { ClientConfig } from 'pg';
import type { MarkerManifest } from '../model/marker.ts';
import type { RecoveryPoint, Restorable } from '../model/recovery-point.ts';
import type { CheckResult } from '../model/report.ts';

/** What every environment is told when it starts. */
export interface EnvironmentContext {
  /** The drill run's id; every resource the environment creates is labelled with it. */
  readonly runId: string;
  /** The drill's name, for labels and logs. */
  readonly drillName: string;
  readonly signal?: AbortSignal;
  /** Progress and notes for the person watching; never receives secrets. */
  readonly log: (line: string) => void;
  /** The recovery point the drill picked, when it has one (e.g. its facts name production's version). */
  readonly recoveryPoint?: RecoveryPoint;
  /** What will be restored, already fetched: an environment may choose its version by it (e.g. the dump header). */
  readonly restorable?: Restorable;
  /**
   * The run's cap on billed temporary instances across every shard (`run --rds-limit K`): an environment that
   * creates one (RDS) first takes one of `max` leases kept at `leases` (an evidence store `s3://…` or a
   * shared directory). Absent: no cap.
   */
  readonly instanceLimit?: InstanceLimit;
}

/** At most `max` temporary instances at once, through leases kept at `leases` (`s3://bucket/prefix` or a directory). */
export interface InstanceLimit {
  readonly max: number;
  readonly leases: string;
}

/** Options for restoring into a started environment. */
export interface RestoreOptions {
  /** Parallel `pg_restore` jobs; defaults to the number of CPU cores. */
  readonly jobs?: number;
  readonly signal?: AbortSignal;
  readonly log: (line: string) => void;
  /** Called as tables are loaded: `done` of `total` tables with data; for a progress display. Optional. */
  readonly progress?: (done: number, total: number) => void;
  /**
   * Called once per table whose rows are final while the restore goes on (indexes and foreign keys may still
   * be building), so they can be checksummed early. Optional for environments: one that cannot tell never
   * calls it, and the drill compares every table after the restore instead.
   */
  readonly onTableRestored?: (table: { readonly schema: string; readonly name: string }) => void;
  /**
   * Called whenever the number of busy restore workers changes (`busy` of `jobs`), so work waiting on the
   * restore (early checksums) can use only what the restore leaves idle. Optional, like `onTableRestored`.
   */
  readonly onRestoreWorkers?: (busy: number, jobs: number) => void;
  /** Called when a physical restore has laid its backup down and starts replaying WAL (timed as `replay`). */
  readonly onReplayStart?: () => void;
}

/**
 * A disposable database, configured but not yet started. `start()` creates it, labelled with the run id.
 * Adding an environment means one folder (e.g. `local/`) implementing this interface; {@link localPostgres} is the default.
 */
export interface Environment {
  /** Short kind name recorded in reports, e.g. `local-postgres`. */
  readonly kind: string;
  /**
   * Checks that the environment can start at all (its tools are installed and work), before the drill
   * starts; throws a `ConfigError` saying what to install. Optional.
   */
  preflight?(): Promise<void>;
  start(context: EnvironmentContext): Promise<StartedEnvironment>;
  /**
   * Removes what crashed runs left of this kind (only resources carrying restore-drill's label or tags),
   * before a drill starts; `restore-drill cleanup` does the same for every kind. Optional: best effort, a
   * problem is logged and the drill goes on. Returns how many were removed.
   */
  removeLeftovers?(context: { readonly log: (line: string) => void }): Promise<number>;
}

/**
 * A running disposable database. Only this type has connection details, so nothing can connect to an
 * environment that has not started. `await using env = await environment.start(ctx)` stops it for you.
 */
export interface StartedEnvironment extends AsyncDisposable {
  readonly kind: string;
  /** Server version, e.g. `15.18`. */
  readonly version: string;
  /** Settings an auditor may ask about (e.g. an RDS instance's class and groups), recorded in the report. Never secrets. */
  readonly facts?: Record<string, string | number | boolean | null>;
  /** The run id it is labelled with. */
  readonly runId: string;
  /**
   * A manifest the restore found with the data, when the restorable did not carry one: after a physical
   * restore to a marker's own position, that marker from the WAL (the copy is its snapshot: every table
   * compares exactly).
   */
  readonly manifest?: MarkerManifest;
  /** The database restores go into. */
  readonly database: string;
  /** `pg` client configuration (includes the password: never log it). */
  connectionConfig(database?: string): ClientConfig;
  /** libpq environment (`PGHOST`, `PGPORT`, `PGUSER`, `PGPASSWORD`, `PGDATABASE`) for `pg_restore`/`psql`. */
  libpqEnv(database?: string): Record<string, string>;
  /** Restores a recovery point into {@link database}. */
  restore(restorable: Restorable, options: RestoreOptions): Promise<void>;
  /** Stops and deletes everything the environment created. Safe to call twice. */
  stop(): Promise<void>;
  /**
   * What the restore sandbox blocked: code in the backup that tried to run a program, reach a file outside
   * the server's data directory, or connect somewhere. Optional: an environment without one omits it.
   */
  sandboxViolations?(): Promise<SandboxViolations>;
  /**
   * Failed checks of the environment's own conduct, read before the report is signed: e.g. an RDS instance
   * whose lease expired while the drill ran (the instance cap was not guaranteed). Optional; empty when all
   * was well (these never count toward a pass).
   */
  checks?(): Promise<readonly CheckResult[]>;
}

/** What an environment's restore sandbox saw during one drill. */
export interface SandboxViolations {
  /** false when the server ran without the sandbox (the caller opted out). */
  readonly sandboxed: boolean;
  /** The mechanism, in one line, e.g. `bubblewrap: throw-away uid 1912…, no network, read-only system files`. */
  readonly description: string;
  readonly found: readonly SandboxViolation[];
  /** Set when part of the log was not scanned (a flood past the reading bound): what, in one line. */
  readonly unscanned?: string;
}

/** One attempt the sandbox blocked, from the server's log. */
export interface SandboxViolation {
  /** What the code tried, e.g. `run a program (COPY … TO PROGRAM)`. */
  readonly attempt: string;
  /** The object whose code it was, from the error's CONTEXT and statement, e.g. `function public.evil(integer) during COPY public.orders`. */
  readonly object: string;
  /** The server's error message. */
  readonly message: string;
}
