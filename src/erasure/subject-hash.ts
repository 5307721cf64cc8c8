import { createHmac, randomBytes } from 'node:crypto';

/** Env var: a secret salt for subject hashes, so the same subject hashes alike across runs (default: a per-run random salt). */
export const ERASURE_SALT_ENV = 'RESTORE_DRILL_ERASURE_SALT';

/**
 * Hashes subject ids for reports and logs: HMAC-SHA256 with a salt, first 16 hex digits. The salt is the
 * given one, else `$RESTORE_DRILL_ERASURE_SALT`, else random for this run and never written anywhere, so a
 * report's hashes cannot be matched against a list of ids (they only relate the subjects within one report).
 *
 * @example
 * const hash = subjectHasher();
 * hash('customer-42'); // 'sha256:1f0c…' (16 hex digits)
 */
export function subjectHasher(
  salt?: string,
): ((subjectId: string) => string) & { readonly saltKind: 'given' | 'per-run' } {
  const key = salt ?? process.env[ERASURE_SALT_ENV] ?? randomBytes(32).toString('hex');
  const hash = (subjectId: string) => `hmac:${createHmac('sha256', key).update(subjectId).digest('hex').slice(0, 16)}`;
  return Object.assign(hash, {
    saltKind: (salt ?? process.env[ERASURE_SALT_ENV]) ? ('given' as const) : ('per-run' as const),
  });
}

/**
 * Replaces every subject id in a text (an error message from the drill's own SQL) by its hash, so personal
 * data never reaches a report.
 *
 * @example
 * scrubSubjects('invalid input "customer-42"', ['customer-42'], hash); // 'invalid input "hmac:1f0c…"'
 */
export function scrubSubjects(text: string, subjectIds: readonly string[], hash: (id: string) => string): string {
  // Longest first, so an id that contains another is replaced whole.
  return [...subjectIds]
    .sort((a, b) => b.length - a.length)
    .reduce((out, id) => (id ? out.split(id).join(hash(id)) : out), text);
}
