import type { S3Client } from '@aws-sdk/client-s3';
import { s3Sdk } from '../aws/sdk.ts';
import { RESOURCE_PREFIX } from '../environments/labels.ts';
import { expiredOrTooOld } from '../environments/leftover.ts';
import { readScratchLabel, removeScratch, scratchUri, type ScratchLocation } from './scratch-location.ts';

/** A scratch bucket or prefix that a crashed run left behind. */
export interface ScratchLeftover extends ScratchLocation {
  readonly drillName: string;
  /** Why it counts as a leftover, e.g. `expired at 2026-11-23T20:00:00.000Z`. */
  readonly reason: string;
}

/** Options of {@link findScratchLeftovers}. */
export interface ScratchLeftoverOptions {
  /** Bucket prefixes that hold scratch prefixes (the `scratch: { bucket, prefix }` of drills); scratch buckets are always looked for. */
  readonly under?: readonly { readonly bucket: string; readonly prefix: string }[];
  /** Also scratches of runs that have not expired yet, once they are this old (seconds). */
  readonly olderThanSeconds?: number;
  /** The time expiry is judged against; default now. */
  readonly now?: Date;
}

/**
 * Finds attachment scratches of crashed runs: buckets named `restore-drill-…` tagged
 * `restore-drill:owner=restore-drill`, and prefixes `restore-drill-…/` under `under` holding restore-drill's
 * label object, past their expiry (or, with `olderThanSeconds`, made that long ago). Anything else — however
 * similar its name — is not a leftover.
 *
 * @example
 * for (const leftover of await findScratchLeftovers(client, { under: [{ bucket: 'acme-drills', prefix: 'scratch/' }] }))
 *   await removeScratch(client, leftover);
 */
export async function findScratchLeftovers(
  client: S3Client,
  options: ScratchLeftoverOptions = {},
): Promise<ScratchLeftover[]> {
  const { ListBucketsCommand } = await s3Sdk();
  const now = (options.now ?? new Date()).getTime();
  const candidates: Pick<ScratchLocation, 'bucket' | 'root'>[] = [];
  const buckets = await client.send(new ListBucketsCommand({}));
  for (const b of buckets.Buckets ?? [])
    if (b.Name?.startsWith(RESOURCE_PREFIX)) candidates.push({ bucket: b.Name, root: '' });
  for (const { bucket, prefix } of options.under ?? []) {
    let ContinuationToken: string | undefined;
    do {
      const { ListObjectsV2Command } = await s3Sdk();
      const page = await client.send(
        new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, Delimiter: '/', ContinuationToken }),
      );
      for (const p of page.CommonPrefixes ?? [])
        if (p.Prefix?.slice(prefix.length).startsWith(RESOURCE_PREFIX)) candidates.push({ bucket, root: p.Prefix });
      ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (ContinuationToken);
  }
  const found: ScratchLeftover[] = [];
  for (const candidate of candidates) {
    const label = await readScratchLabel(client, candidate);
    if (!label) continue;
    const reason = expiredOrTooOld({
      expiresAt: label.expiresAt,
      createdAt: Date.parse(label.createdAt),
      now,
      olderThanSeconds: options.olderThanSeconds,
    });
    if (reason) found.push({ ...candidate, runId: label.runId, drillName: label.drillName, reason });
  }
  return found;
}

/**
 * `restore-drill cleanup --s3-scratch`: finds and removes expired attachment scratches, each after
 * re-reading its label; one that cannot be removed is reported and the others still go.
 *
 * @example
 * await cleanupScratch(client, { under: [{ bucket: 'acme-drills', prefix: 'scratch/' }], log: console.log });
 */
export async function cleanupScratch(
  client: S3Client,
  options: ScratchLeftoverOptions & { readonly log: (line: string) => void },
): Promise<{ removed: ScratchLeftover[]; failed: { leftover: ScratchLeftover; error: string }[] }> {
  const removed: ScratchLeftover[] = [];
  const failed: { leftover: ScratchLeftover; error: string }[] = [];
  for (const leftover of await findScratchLeftovers(client, options)) {
    try {
      await removeScratch(client, leftover);
      removed.push(leftover);
      options.log(
        `removed attachment scratch ${scratchUri(leftover)} (run ${leftover.runId}, drill "${leftover.drillName}": ${leftover.reason})`,
      );
    } catch (error) {
      const message = String((error as Error).message).split('\n')[0] ?? '';
      failed.push({ leftover, error: message });
      options.log(`could not remove attachment scratch ${scratchUri(leftover)}: ${message}`);
    }
  }
  return { removed, failed };
}
