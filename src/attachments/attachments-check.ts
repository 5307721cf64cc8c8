import type pg from 'pg';
import { ConfigError } from '../errors.ts';
import type { CheckResult } from '../model/report.ts';
import { s3Uri } from '../sources/s3/s3-uri.ts';
import type { RestoredAttachments } from './restore-to-directory.ts';
import type { AttachmentSource } from './s3-versioned-source.ts';

/** Keys named in a detail before the rest is only counted. */
const SHOWN = 5;

/** Options of {@link attachmentsCheck}. */
export interface AttachmentsCheckOptions {
  /** SQL run on the restored database whose first column is an object key, e.g. `select storage_key from attachments`. */
  readonly query: string;
  /** The attachments the keys point into, restored to the same recovery point. */
  readonly source: AttachmentSource;
  /** Prepended to every key the query returns, when the database stores keys relative to a folder. Default none. */
  readonly keyPrefix?: string;
  /** Also fail when a restored object is referenced by no row (an orphan). Default false. */
  readonly everyObjectReferenced?: boolean;
}

/** A database ↔ files check, evaluated after both are restored by {@link evaluateAttachmentsCheck}. */
export interface AttachmentsCheck extends AttachmentsCheckOptions {
  readonly kind: 'attachments';
}

/**
 * Database ↔ files: every key the restored database references exists in the restored bucket view with a
 * non-zero size (and, with `everyObjectReferenced`, every restored object is referenced).
 *
 * @example
 * attachmentsCheck({ query: 'select storage_key from attachments', source: attachments });
 */
export function attachmentsCheck(options: AttachmentsCheckOptions): AttachmentsCheck {
  if (!options.query?.trim())
    throw new ConfigError(
      'attachmentsCheck needs a query',
      "e.g. { query: 'select storage_key from attachments', source }",
    );
  return { kind: 'attachments', ...options };
}

/**
 * Runs the check's query on the restored database (in a read-only transaction) and compares the keys with
 * the objects actually restored. Names the first missing keys and counts the rest; a query that returns no
 * key checked nothing, and fails saying so.
 *
 * @example
 * const result = await evaluateAttachmentsCheck(check, db, restored);
 */
export async function evaluateAttachmentsCheck(
  check: AttachmentsCheck,
  db: pg.ClientBase,
  restored: RestoredAttachments,
): Promise<CheckResult> {
  const name = `attachments referenced by ${check.query.trim()}`;
  const sizes = new Map(restored.restored.map((o) => [o.key, o.size]));
  const keys: string[] = [];
  let nulls = 0;
  await db.query('begin transaction read only');
  try {
    const result = await db.query({ text: check.query, rowMode: 'array' });
    for (const row of result.rows as unknown[][]) {
      const value = row[0];
      if (value === null || value === undefined) nulls++;
      else if (typeof value === 'string') keys.push(`${check.keyPrefix ?? ''}${value}`);
      else
        throw new ConfigError(
          `attachmentsCheck: the query's first column must be text (an object key), got ${typeof value}`,
          'select the key column first, e.g. select storage_key from attachments',
        );
    }
  } finally {
    await db.query('rollback');
  }
  const missing = [...new Set(keys)].filter((key) => !sizes.get(key));
  const referenced = new Set(keys);
  const orphans = check.everyObjectReferenced
    ? restored.restored.filter((o) => !referenced.has(o.key) && !o.key.endsWith('/')).map((o) => o.key)
    : [];
  const parts: string[] = [];
  if (missing.length)
    parts.push(
      `missing or empty in ${s3Uri(check.source.bucket, check.source.prefix)} at ${restored.view.at.toISOString()}: ${quote(missing)}`,
    );
  if (orphans.length) parts.push(`restored but referenced by no row: ${quote(orphans)}`);
  if (keys.length === 0) parts.push('the query returned no key: nothing was checked');
  if (nulls) parts.push(`${nulls} rows with no key (null) were not checked`);
  return {
    name,
    status: keys.length > 0 && missing.length === 0 && orphans.length === 0 ? 'passed' : 'failed',
    expected: `every referenced key restored with a non-zero size${check.everyObjectReferenced ? ', every object referenced' : ''}`,
    actual: `${referenced.size - missing.length} of ${referenced.size} keys found${check.everyObjectReferenced ? `, ${orphans.length} unreferenced objects` : ''}`,
    ...(parts.length ? { detail: parts.join('; ') } : {}),
    queries: [check.query.trim()],
  };
}

function quote(keys: readonly string[]): string {
  return (
    keys
      .slice(0, SHOWN)
      .map((k) => JSON.stringify(k))
      .join(', ') + (keys.length > SHOWN ? ` and ${keys.length - SHOWN} more` : '')
  );
}
