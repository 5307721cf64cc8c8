import { z } from 'zod';

/** Name and version of the object fingerprint, recorded in every marker and manifest that has one. */
export const OBJECT_FINGERPRINT_ALGORITHM = 'rdobj/1';

/**
 * The kinds of schema objects a fingerprint records, in the order the report lists them. Each object is
 * keyed by what `pg_identify_object` calls it (`function public.add_one(integer)`, `trigger events_keep_note
 * on public.events`, `large object 16421`), so overloads and quoted names are distinct.
 */
export const OBJECT_CATEGORIES = [
  'schemas',
  'extensions',
  'types',
  'functions',
  'tables',
  'views',
  'sequences',
  'triggers',
  'event triggers',
  'rules',
  'policies',
  'statistics',
  'collations',
  'publications',
  'default privileges',
  'comments',
  'large objects',
] as const;

export type ObjectCategory = (typeof OBJECT_CATEGORIES)[number];

/**
 * What is recorded of one object: short attributes in clear text (`owner`, `acl`, `enabled`, `version`,
 * `rls`) and long ones as a sha256 hex digest (`definition`, `content`, `text`). null means "none".
 */
export type ObjectAttributes = Readonly<Record<string, string | null>>;

/**
 * The object fingerprint of a database: everything beside table rows that a restore must bring back.
 * Taken by `mark` and `dump` in the marker's own snapshot; compared after a restore by compare-objects.ts.
 */
export interface ObjectFingerprint {
  /** `rdobj/1`. */
  readonly algorithm: string;
  /** Major version of the server it was taken on: `pg_get_*def` output may differ between majors. */
  readonly serverMajor: number;
  /** Per category, object name → attributes. */
  readonly objects: Readonly<Partial<Record<ObjectCategory, Readonly<Record<string, ObjectAttributes>>>>>;
  /** What could not be read where it was taken (e.g. large objects the marking role may not read), one line each. */
  readonly unreadable?: readonly string[];
}

/** Schema of an {@link ObjectFingerprint} read back from a restored database or a manifest (untrusted). */
export const objectFingerprintSchema = z.object({
  algorithm: z.string(),
  serverMajor: z.number().int().positive(),
  objects: z.record(z.string(), z.record(z.string(), z.record(z.string(), z.string().nullable()))),
  unreadable: z.array(z.string()).optional(),
});

/**
 * One line about a fingerprint for the person running `mark` or `dump`, e.g.
 * `objects rdobj/1: 4 functions, 2 views, 1 triggers, 2 policies, 1 large objects`.
 */
export function describeFingerprint(fingerprint: ObjectFingerprint): string {
  const counts = OBJECT_CATEGORIES.flatMap((category) => {
    const n = Object.keys(fingerprint.objects[category] ?? {}).length;
    return n > 0 ? [`${n} ${category}`] : [];
  });
  const unreadable = fingerprint.unreadable?.length
    ? `; not readable by this role: ${fingerprint.unreadable.length}`
    : '';
  return `objects ${fingerprint.algorithm}: ${counts.join(', ') || 'none'}${unreadable}`;
}
