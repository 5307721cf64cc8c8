import { createHash } from 'node:crypto';
import { z } from 'zod';
import { ConfigError } from '../errors.ts';

/** Name and version of the per-object hash and its order-independent sum; recorded in every manifest. */
export const ATTACHMENT_SUM_ALGORITHM = 'rdattach-sha256/1';
export const ATTACHMENT_MANIFEST_FORMAT = 'restore-drill.attachments/v1';

/** Count, bytes and order-independent checksum of a set of objects. */
export interface AttachmentSums {
  readonly objects: number;
  readonly bytes: number;
  /** Sum of the objects' 64-bit hashes, as a decimal string (no overflow). */
  readonly sum: string;
}

/**
 * What `restore-drill mark --s3` / `dump --s3` record about a bucket prefix, at the marker's own time: the
 * totals and, per prefix group (the first path segment under the prefix), the same sums, so a restore that
 * differs is narrowed down to the groups that differ.
 */
export interface AttachmentManifest extends AttachmentSums {
  readonly format: typeof ATTACHMENT_MANIFEST_FORMAT;
  readonly algorithm: typeof ATTACHMENT_SUM_ALGORITHM;
  readonly bucket: string;
  readonly prefix: string;
  /** The point in time the bucket was viewed at (the marker's or dump snapshot's `takenAt`), ISO 8601 UTC. */
  readonly at: string;
  readonly groups: Record<string, AttachmentSums>;
  /** How many object checksums were S3's own full-object SHA-256, computed by restore-drill, or unavailable (archived). */
  readonly checksums: { readonly s3: number; readonly computed: number; readonly archived: number };
}

/** What the sums are made of: one object's key, size and content SHA-256 (`null` when unreadable). */
export interface SummedObject {
  readonly key: string;
  readonly size: number;
  readonly sha256: string | null;
}

/**
 * The prefix group of a key: its first path segment under `prefix` with the `/`, or `(top)` for objects
 * directly under it.
 *
 * @example
 * groupOf('att/2026-11/a.pdf', 'att/'); // '2026-11/'
 */
export function groupOf(key: string, prefix: string): string {
  const rest = key.slice(prefix.length);
  const slash = rest.indexOf('/');
  return slash < 0 ? '(top)' : rest.slice(0, slash + 1);
}

/**
 * Order-independent sums of objects: each object hashes (key, size, SHA-256) to 64 bits, and the hashes are
 * added (no XOR: duplicates would cancel). Totals and per prefix group.
 *
 * @example
 * sumObjects([{ key: 'a/x', size: 5, sha256: '2cf2…' }], ''); // { objects: 1, bytes: 5, sum: '…', groups: { 'a/': … } }
 */
export function sumObjects(
  objects: Iterable<SummedObject>,
  prefix: string,
): AttachmentSums & { groups: Record<string, AttachmentSums> } {
  const groups = new Map<string, { objects: number; bytes: number; sum: bigint }>();
  const total = { objects: 0, bytes: 0, sum: 0n };
  for (const object of objects) {
    const hash = createHash('sha256')
      .update(`${object.key}\0${object.size}\0${object.sha256 ?? 'unreadable'}`)
      .digest()
      .readBigUInt64BE(0);
    const name = groupOf(object.key, prefix);
    const group = groups.get(name) ?? { objects: 0, bytes: 0, sum: 0n };
    for (const sums of [group, total]) {
      sums.objects += 1;
      sums.bytes += object.size;
      sums.sum += hash;
    }
    groups.set(name, group);
  }
  const text = (s: { objects: number; bytes: number; sum: bigint }): AttachmentSums => ({
    objects: s.objects,
    bytes: s.bytes,
    sum: s.sum.toString(),
  });
  return {
    ...text(total),
    groups: Object.fromEntries(
      [...groups].sort(([a], [b]) => (a < b ? -1 : 1)).map(([name, sums]) => [name, text(sums)]),
    ),
  };
}

const sumsSchema = z.object({
  objects: z.number().int().nonnegative(),
  bytes: z.number().int().nonnegative(),
  sum: z.string().regex(/^\d+$/),
});
const manifestSchema = sumsSchema.extend({
  format: z.literal(ATTACHMENT_MANIFEST_FORMAT),
  algorithm: z.literal(ATTACHMENT_SUM_ALGORITHM),
  bucket: z.string().min(1),
  prefix: z.string(),
  at: z.string().datetime(),
  groups: z.record(z.string(), sumsSchema),
  checksums: z.object({ s3: z.number().int(), computed: z.number().int(), archived: z.number().int() }),
});

/**
 * Validates an attachment manifest read from a restored database or beside a dump (untrusted input).
 *
 * @example
 * const manifest = parseAttachmentManifest(JSON.parse(text), 's3://backups/shop.dump.attachments.json');
 */
export function parseAttachmentManifest(value: unknown, label: string): AttachmentManifest {
  const parsed = manifestSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ConfigError(
      `attachment manifest ${label} is not a valid ${ATTACHMENT_MANIFEST_FORMAT}: ${issue.path.join('.') || '(root)'}: ${issue.message}`,
      'it is written by `restore-drill mark --s3` or `dump --s3`; take a new one',
    );
  }
  return parsed.data;
}
