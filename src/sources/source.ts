import type { RecoveryPoint, Restorable } from '../model/recovery-point.ts';
import type { CheckResult } from '../model/report.ts';
import type { RecoveryTarget } from '../model/physical-backup.ts';

/**
 * How a source picks among its recovery points: the latest; the one nearest a target time; or, like AWS
 * Backup restore testing, a random one created inside the last `within` (e.g. `'7d'`), so that over many
 * drills every recent recovery point gets proven, not only the newest.
 *
 * @example
 * drill('shop, any snapshot of the last week', { source, pick: { strategy: 'random', within: '7d' } });
 */
export type PickStrategy =
  | { readonly strategy: 'latest' }
  | { readonly strategy: 'nearest'; readonly target: Date }
  | { readonly strategy: 'random'; readonly within: string | number }
  /**
   * Physical sources: the newest backup, restored to the newest restore-drill marker's own position in the
   * WAL, where the copy is exactly the marker's snapshot and every table compares exactly.
   */
  | { readonly strategy: 'marker' };

/** Context a source gets from the drill run. */
export interface SourceContext {
  /** A private, disposable working directory of this run (removed at teardown). */
  readonly workDir: string;
  readonly signal?: AbortSignal;
  /** Progress and notes for the person watching; never receives secrets. */
  readonly log: (line: string) => void;
}

/**
 * Where recovery points come from. Adding a source means one folder (e.g. `file/`) implementing this interface.
 * See {@link fileSource} for the built-in example.
 */
export interface Source<R extends Restorable = Restorable> {
  /** Short kind name recorded in reports, e.g. `file`. */
  readonly kind: string;
  /**
   * Its recovery points are backups replayed to a moment (physical sources): `pick` chooses the moment, and the
   * newest backup it can be reached from is restored.
   */
  readonly pointInTime?: boolean;
  /**
   * Human description for logs, e.g. `file backups/`. Never contains secrets. A point-in-time source names
   * `target` when given (the moment the drill's pick asks for) instead of its own.
   */
  describe(target?: RecoveryTarget): string;
  /** Every recovery point found, newest first. Throws `ConfigError` when the location is unusable. */
  list(context: SourceContext): Promise<RecoveryPoint[]>;
  /** Makes a recovery point available for restore (e.g. downloads it into `context.workDir`). */
  fetch(point: RecoveryPoint, context: SourceContext): Promise<R>;
  /**
   * For a recovery point in cold storage, the work that makes it readable (restore requests, the wait),
   * returning the checks that say what it took; null or absent when the point is readable as it is. The
   * drill runs it as a phase of its own, `thaw`, on the RTO clock, and then `fetch`.
   */
  thaw?(point: RecoveryPoint): ((context: SourceContext) => Promise<CheckResult[]>) | null;
}
