import type { AttachmentsOption } from '../attachments/verify-attachments.ts';
import type { Environment } from '../environments/environment.ts';
import type { ErasureReplay } from '../erasure/erasure-replay.ts';
import type { Objectives } from '../objectives/objectives.ts';
import type { Policy } from '../objectives/policy.ts';
import type { PickStrategy, Source } from '../sources/source.ts';
import type { DurationString } from '../util/duration.ts';
import type { DumpedWithout } from '../verify/compare-objects.ts';

/**
 * What one drill is: where the recovery point comes from, where it is restored, and what must hold.
 *
 * @example
 * const options: DrillOptions = {
 *   source: fileSource('backups/'),
 *   objectives: { rto: '8h', rpo: '3h' },
 * };
 */
export interface DrillOptions {
  /** Where recovery points come from, e.g. `fileSource('backups/')` or `s3DumpSource('s3://bucket/db/')`. */
  readonly source: Source;
  /** Where the recovery point is restored; default `localPostgres()`. */
  readonly environment?: Environment;
  /** RTO and RPO targets, e.g. `{ rto: '8h', rpo: '3h' }`. */
  readonly objectives?: Objectives;
  /** Which recovery point to restore; default the latest. */
  readonly pick?: PickStrategy;
  /** Where the signed report goes; default `run --report-dir`, else `$RESTORE_DRILL_REPORT_DIR`, else `reports/`. */
  readonly reportDir?: string;
  /** Signing key: a PEM path or content, or `kms://<key id|alias|arn>`; default the key `run` resolved (`--signing-key`, `$RESTORE_DRILL_SIGNING_KEY`), else a local demo key. */
  readonly signingKey?: string;
  /** Parallel `pg_restore` jobs; default the number of CPU cores. */
  readonly jobs?: number;
  /**
   * Compare each table of a dump's manifest as soon as `pg_restore` has loaded it, on the restore workers
   * it leaves idle, instead of after the whole restore. Default false: on 2 cores it measured no faster for
   * 2 M rows than comparing afterwards (docs/performance.md); it may pay with many cores.
   */
  readonly verifyDuringRestore?: boolean;
  /**
   * Verification under a time budget, for databases whose full checksum does not fit the drill's window, e.g.
   * `{ budget: '30m' }`. See {@link VerifyOptions}. Default `run`/`check --verify-budget`, else
   * `$RESTORE_DRILL_VERIFY_BUDGET`, else none: every table is checksummed in full.
   */
  readonly verify?: VerifyOptions;
  /** Backup policy rules checked against every recovery point the source lists (freshness, retention, …). */
  readonly policies?: readonly Policy[];
  /** `false` makes a policy-only drill: recovery points are listed and checked, nothing is restored. Default true. */
  readonly restore?: boolean;
  /** Compliance controls this drill evidences, e.g. `['SOC2-A1.2', 'ISO27001-A.8.13']`; recorded in the report. */
  readonly controls?: readonly string[];
  /**
   * How often this drill is meant to run, e.g. `1mo` or `7d`; recorded in the report. `verify --ledger`,
   * `history` and `controls` call the drill stale when its newest report is older than this plus a grace.
   * Default `$RESTORE_DRILL_CADENCE` (`run --cadence`), else none.
   */
  readonly cadence?: DurationString;
  /**
   * The dumps are made without privileges (`pg_dump --no-acl`) or owners (`--no-owner`) on purpose, e.g.
   * `{ privileges: true, owners: true }`: those are then not compared with the object fingerprint, and the
   * report lists them as not verified. Undeclared, a dump without them fails the drill, naming each object.
   */
  readonly dumpedWithout?: DumpedWithout;
  /**
   * Files beside the database, restored to the same recovery point in `verify`: versioned S3 sources
   * (`s3VersionedSource`) and database ↔ files checks (`attachmentsCheck`), each compared with the attachment
   * manifest `mark --s3` / `dump --s3` recorded.
   */
  readonly attachments?: AttachmentsOption;
  /** GDPR erasure replay on the restored copy (`erasureReplay`), run last in `verify` since it changes the data. */
  readonly erasure?: ErasureReplay;
  /**
   * The longest the drill may run, e.g. `6h` (or seconds, at most 24d): past it the drill stops where it is and
   * writes its signed `error` report, as on SIGTERM. A backup is untrusted: its code can sleep or loop while it
   * is restored. Default: twice the RTO (at least 1h) when `objectives.rto` is set, else 6h. The report's
   * `timeLimit` says which applied.
   */
  readonly timeLimit?: DurationString | number;
}

/**
 * How a drill verifies the restored data against its markers, when a full checksum does not fit its window.
 *
 * @example
 * const options: DrillOptions = { source: fileSource('backups/'), verify: { budget: '30m' } };
 */
export interface VerifyOptions {
  /**
   * How long the checksums may take, e.g. `30m`. Every table's row count is always compared; key ranges are
   * checksummed while they fit, chosen so that consecutive runs cover every range (the rotation is read from the
   * drill's earlier signed reports). A database whose full checksum fits is verified in full. What is left out
   * is listed as not verified; a difference found in a checksummed range fails the drill as always.
   */
  readonly budget?: DurationString;
  /**
   * The checksum speed to plan with, in rows per second. Default: measured before planning, on the marker's
   * largest key range. Give it to make the plan the same on every machine.
   */
  readonly rowsPerSecond?: number;
}
