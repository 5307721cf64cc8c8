import type pg from 'pg';
import type { StartedEnvironment } from '../environments/environment.ts';
import type { RecoveryPoint } from '../model/recovery-point.ts';
import type { CheckResult } from '../model/report.ts';
import { redact } from '../util/redact.ts';

/**
 * What the body of a drill gets: a client connected to the restored database, and `check()` to turn
 * assertions into named checks of the report.
 *
 * @example
 * drill('orders', options, async ({ db, check }) => {
 *   await check('no negative totals', async () => {
 *     const { rows } = await db.query('select count(*)::int as n from orders where total < 0');
 *     expect(rows[0].n).toBe(0);
 *   });
 * });
 */
export interface DrillContext {
  /** A `pg` client connected to the restored database (closed for you afterwards). */
  readonly db: pg.Client;
  /** Runs `assertion` as its own check named `name`; a thrown error (e.g. a failed `expect`) fails only that check. */
  readonly check: (name: string, assertion: () => unknown) => Promise<void>;
  readonly recoveryPoint: RecoveryPoint;
  readonly environment: StartedEnvironment;
  /** Writes a line to the drill's progress output (redacted like the report). */
  readonly log: (line: string) => void;
}

/**
 * The body of a drill: custom assertions on the restored data.
 *
 * @example
 * const body: DrillBody = async ({ db, check }) => {
 *   await check('500 customers', async () => expect((await db.query('select 1')).rowCount).toBe(1));
 * };
 */
export type DrillBody = (context: DrillContext) => unknown;

/**
 * Runs a drill's body on the restored database. Each `check()` becomes a check handed to `record` (with the
 * SQL it ran); an assertion thrown outside `check()` fails the check `drill assertions`.
 */
export async function runBody(
  body: DrillBody,
  context: Omit<DrillContext, 'check'>,
  record: (check: CheckResult) => void,
): Promise<void> {
  const { db } = context;
  const check = async (name: string, assertion: () => unknown) => {
    const queries: string[] = [];
    // The report says what a custom check looked at: every statement it ran on `db`, recorded while it runs.
    // Kept unbound on purpose: it is put back as it was, and the wrapper calls it with the client's `this`.
    // eslint-disable-next-line @typescript-eslint/unbound-method
    const original = db.query;
    db.query = function (this: pg.Client, ...args: unknown[]) {
      queries.push(queryText(args[0]));
      return (original as (...a: unknown[]) => unknown).apply(this, args);
    } as typeof db.query;
    const recorded = () => (queries.length ? { queries: queries.map((q) => redact(q)) } : {});
    try {
      await assertion();
      record({ name, status: 'passed', expected: null, actual: null, ...recorded() });
    } catch (error) {
      record({ ...assertionFailure(name, error), ...recorded() });
    } finally {
      db.query = original;
    }
  };
  try {
    await body({ ...context, check });
  } catch (error) {
    record(assertionFailure('drill assertions', error));
  }
}

/** The SQL of a `query()` call: a string, or a config object with `text`. */
function queryText(query: unknown): string {
  if (typeof query === 'string') return query;
  const text = (query as { text?: unknown } | null)?.text;
  return typeof text === 'string' ? text : String(query);
}

/**
 * A thrown assertion as a failed check: Vitest's AssertionError carries `expected` and `actual`, which become
 * the check's values, and the detail says it in plain words instead of Vitest's `Object.is equality` text.
 */
function assertionFailure(name: string, error: unknown): CheckResult {
  const e = error as { expected?: unknown; actual?: unknown; message?: string; showDiff?: boolean };
  const scalar = (v: unknown) =>
    v === undefined
      ? null
      : typeof v === 'object' && v !== null
        ? JSON.stringify(v)
        : (v as string | number | boolean | null);
  const message = String(e.message ?? error).split('\n')[0] ?? '';
  const hasValues = e.expected !== undefined || e.actual !== undefined;
  // `expect(x, 'orders').toBe(0)` prefixes the message with its own words: keep them.
  const prefix = /^(.*?): expected /.exec(message)?.[1];
  const plain =
    hasValues && e.showDiff !== false
      ? `${prefix ? `${prefix}: ` : ''}expected ${describeValue(e.expected)}, received ${describeValue(e.actual)}`
      : message.replace(/\s*\/\/ Object\.is equality$/, '');
  return {
    name,
    status: 'failed',
    expected: scalar(e.expected),
    actual: scalar(e.actual),
    detail: redact(plain),
  };
}

function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === undefined) return 'undefined';
  if (typeof value === 'object' && value !== null) return JSON.stringify(value);
  // A number, boolean, bigint, symbol or function here: objects were stringified above.
  // eslint-disable-next-line @typescript-eslint/no-base-to-string
  return String(value);
}
