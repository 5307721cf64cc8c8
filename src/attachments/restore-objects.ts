import { mapLimit } from '../util/map-limit.ts';
import type { AttachmentObject, AttachmentView } from './attachment-view.ts';
import type { ObjectContent } from './read-object.ts';

/** One object restored: its key, the bytes received and their SHA-256 (hex). */
export interface RestoredObject {
  readonly key: string;
  readonly versionId: string;
  readonly size: number;
  readonly sha256: string;
}

/** What restoring every object of a view gave: the objects that came back, and those that did not with why. */
export interface RestoredObjects {
  readonly restored: RestoredObject[];
  readonly failed: { readonly key: string; readonly reason: string }[];
}

/**
 * Restores every object of `view` with `restoreOne`, a bounded number at a time: an object whose restore
 * throws, or whose bytes do not add up to the listed size, is listed as failed with why (an interrupt is
 * rethrown). Where the objects go (a directory, a scratch prefix) is `restoreOne`'s business.
 *
 * @example
 * const { restored, failed } = await restoreObjects(view, { concurrency: 8 }, (object) => copyOne(object));
 */
export async function restoreObjects(
  view: AttachmentView,
  options: { readonly concurrency?: number; readonly signal?: AbortSignal; readonly log?: (line: string) => void },
  restoreOne: (object: AttachmentObject) => Promise<ObjectContent>,
): Promise<RestoredObjects> {
  const restored: RestoredObject[] = [];
  const failed: { key: string; reason: string }[] = [];
  let done = 0;
  await mapLimit(view.objects, options.concurrency ?? 8, async (object) => {
    const problem = await restoreOne(object).then(
      (content) => {
        restored.push({ key: object.key, versionId: object.versionId, size: content.bytes, sha256: content.sha256 });
        return content.bytes === object.size ? undefined : `${content.bytes} bytes received, ${object.size} listed`;
      },
      (error: unknown) => {
        options.signal?.throwIfAborted();
        return (error as Error).message;
      },
    );
    if (problem) failed.push({ key: object.key, reason: problem });
    if (++done % 1000 === 0) options.log?.(`restored ${done} of ${view.objects.length} attachments`);
  });
  return { restored, failed };
}
