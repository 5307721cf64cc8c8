/** One object of a bucket as it was at a point in time: the version that was current then. */
export interface AttachmentObject {
  readonly key: string;
  /** The version current at the view's time (`null` for objects written before versioning was enabled). */
  readonly versionId: string;
  readonly size: number;
  readonly lastModified: Date;
  /** e.g. `STANDARD`, `GLACIER`; absent when S3 did not say. */
  readonly storageClass?: string;
}

/**
 * Every key under a prefix of a versioned bucket as it was at `at`: a key deleted before `at` is absent, a
 * key overwritten after `at` is its older version. Built by {@link resolveVersionsAt} from ListObjectVersions.
 */
export interface AttachmentView {
  readonly bucket: string;
  readonly prefix: string;
  readonly at: Date;
  /** Sorted by key. */
  readonly objects: readonly AttachmentObject[];
  /** Versions and delete markers listed (all times), for progress and the report. */
  readonly versionsListed: number;
  /**
   * Keys whose newest entry at `at` is a version and a delete marker in the same second: S3 times are whole
   * seconds, so which came first is unknown. The version is kept; a report names these.
   */
  readonly sameSecond: readonly string[];
  /** The bucket's versioning status when the view was taken (`Enabled`, `Suspended`). */
  readonly versioning: string;
}

/** One row of ListObjectVersions: a version (with a size) or a delete marker (without). */
export interface VersionEntry {
  readonly key: string;
  readonly versionId: string;
  readonly lastModified: Date;
  readonly isLatest: boolean;
  /** `undefined` for a delete marker. */
  readonly size?: number;
  readonly storageClass?: string;
}

/** Storage classes whose objects cannot be read until they are restored from the archive. */
export const ARCHIVED_CLASSES: ReadonlySet<string> = new Set(['GLACIER', 'DEEP_ARCHIVE']);

/**
 * Works out, key by key, the entry current at `at`, fed page by page in ListObjectVersions order (keys in
 * order, each key's versions newest first), so memory grows with the keys, never with the versions.
 * S3 times are whole seconds: an entry stamped with `at`'s second counts as before `at`.
 *
 * @example
 * const resolver = resolveVersionsAt(new Date('2026-11-24T00:00:00Z'));
 * resolver.add(entriesOfPage);
 * resolver.objects(); // the objects current at that time, sorted by key
 */
export function resolveVersionsAt(at: Date) {
  const limit = Math.floor(at.getTime() / 1000) * 1000 + 999;
  const current = new Map<string, VersionEntry>();
  const tied = new Set<string>();
  return {
    add(entries: Iterable<VersionEntry>): void {
      for (const entry of entries) {
        if (entry.lastModified.getTime() > limit) continue;
        const best = current.get(entry.key);
        if (!best || entry.lastModified.getTime() > best.lastModified.getTime()) {
          current.set(entry.key, entry);
          tied.delete(entry.key);
        } else if (entry.lastModified.getTime() === best.lastModified.getTime() && isMarker(entry) !== isMarker(best)) {
          // A version and a delete marker in the same second: S3 keeps each list newest first, but not the two
          // lists in one order. The latest one is known; otherwise keep the version and say so.
          if (entry.isLatest) {
            current.set(entry.key, entry);
            tied.delete(entry.key);
          } else if (!best.isLatest) {
            if (isMarker(best)) current.set(entry.key, entry);
            tied.add(entry.key);
          }
        }
        // Two versions in the same second: the first listed is the newer one, already kept.
      }
    },
    objects(): AttachmentObject[] {
      const objects: AttachmentObject[] = [];
      for (const entry of current.values()) {
        if (isMarker(entry)) continue;
        objects.push({
          key: entry.key,
          versionId: entry.versionId,
          size: entry.size!,
          lastModified: entry.lastModified,
          ...(entry.storageClass ? { storageClass: entry.storageClass } : {}),
        });
      }
      return objects.sort((a, b) => compareKeys(a.key, b.key));
    },
    sameSecond: (): string[] => [...tied].sort(compareKeys),
  };
}

function isMarker(entry: VersionEntry): boolean {
  return entry.size === undefined;
}

/** S3's key order: by UTF-8 bytes (not JavaScript's UTF-16 order, which differs above U+FFFF). */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
