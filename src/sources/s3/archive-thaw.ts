import { setTimeout as sleep } from 'node:timers/promises';
import type { S3Client } from '@aws-sdk/client-s3';
import { s3Sdk } from '../../aws/sdk.ts';
import { ConfigError, InterruptedError, RestoreDrillError } from '../../errors.ts';
import { formatDuration, parseDuration, type DurationString } from '../../util/duration.ts';
import { s3Uri } from './s3-uri.ts';

/** Storage classes whose objects must be restored (thawed) before they can be read. */
export const ARCHIVE_CLASSES: ReadonlySet<string> = new Set(['GLACIER', 'DEEP_ARCHIVE']);

/** How an archived dump is thawed: the `archive` option of `s3DumpSource`. */
export interface ArchiveOptions {
  /** S3's retrieval tier; default `Bulk` (cheapest: up to 12 h from Glacier Flexible Retrieval, 48 h from Deep Archive). */
  readonly tier?: 'Bulk' | 'Standard' | 'Expedited';
  /** How many days the thawed copy stays readable; default 1. Long enough for a scheduled drill to come back to it. */
  readonly days?: number;
  /**
   * Wait for the thaw (default true). With false, a run that finds the thaw not done yet starts it (or finds
   * it in progress) and fails saying so; a later run finds it done and drills — a job can thaw one day and
   * drill the next.
   */
  readonly wait?: boolean;
  /** Longest wait for the thaw; default `48h`. */
  readonly timeout?: DurationString | number;
  /** How often S3 is asked whether the thaw is done; default `15m`. */
  readonly pollEvery?: DurationString | number;
}

/** An object's restore state, from S3's `x-amz-restore` header (`Restore` in the SDK). */
export interface RestoreState {
  readonly state: 'none' | 'ongoing' | 'restored';
  /** Until when a restored copy stays readable. */
  readonly expiresAt?: Date;
}

/**
 * Reads the `Restore` value of a HEAD: `ongoing-request="true"` is a thaw in progress,
 * `ongoing-request="false", expiry-date="…"` a readable copy until that date, nothing at all: never thawed
 * or its thaw expired (S3 does not tell which).
 *
 * @example
 * restoreState('ongoing-request="false", expiry-date="Fri, 04 Dec 2026 00:00:00 GMT"'); // { state: 'restored', expiresAt: … }
 */
export function restoreState(header: string | undefined): RestoreState {
  if (!header) return { state: 'none' };
  if (/ongoing-request="true"/.test(header)) return { state: 'ongoing' };
  const expiry = /expiry-date="([^"]+)"/.exec(header)?.[1];
  return expiry && !Number.isNaN(Date.parse(expiry))
    ? { state: 'restored', expiresAt: new Date(expiry) }
    : { state: 'restored' };
}

/** What a thaw did, for the report. */
export interface ThawResult {
  /** Objects that were archived and are now readable. */
  readonly objects: number;
  /** How long this run waited for them. */
  readonly seconds: number;
  readonly tier: string;
  /** Objects whose restore this run requested (the others were already thawing or thawed). */
  readonly requested: number;
}

/**
 * Makes archived objects readable: requests a restore (`RestoreObject` with the tier and days) of each one
 * that is neither restored nor thawing, then asks S3 every `pollEvery` until every one is restored —
 * logging progress, ending at once on the drill's abort signal, and failing with one line after `timeout`
 * or, with `wait: false`, at once while a thaw is still running. An object whose thaw finished earlier
 * (a previous run's) is used as it is: the run resumes where the last one stopped.
 *
 * @example
 * await thawArchived(s3, 'backups', ['shop/2026-08-01.dump'], { tier: 'Bulk', days: 2 }, { log, signal });
 */
export async function thawArchived(
  client: S3Client,
  bucket: string,
  keys: readonly string[],
  options: ArchiveOptions,
  context: { readonly log: (line: string) => void; readonly signal?: AbortSignal },
): Promise<ThawResult> {
  const tier = options.tier ?? 'Bulk';
  const days = options.days ?? 1;
  if (!Number.isInteger(days) || days < 1)
    throw new ConfigError(
      `archive days must be a whole number ≥ 1, not ${days}`,
      'e.g. archive: { tier: "Bulk", days: 2 }',
    );
  const timeout = parseDuration(options.timeout ?? '48h', 'archive timeout');
  const pollEvery = parseDuration(options.pollEvery ?? '15m', 'archive pollEvery');
  const started = Date.now();
  const { log, signal } = context;
  if (keys.length === 0) return { objects: 0, seconds: 0, tier, requested: 0 }; // moved out of the archive since it was listed
  const what = keys.length === 1 ? s3Uri(bucket, keys[0]!) : `${keys.length} objects of ${s3Uri(bucket, keys[0]!)}…`;
  let requested = 0;
  const { RestoreObjectCommand } = await s3Sdk();
  for (const key of keys) {
    const state = await stateOf(client, bucket, key, signal);
    if (state.state !== 'none') continue;
    await client.send(
      new RestoreObjectCommand({
        Bucket: bucket,
        Key: key,
        RestoreRequest: { Days: days, GlacierJobParameters: { Tier: tier } },
      }),
      { abortSignal: signal },
    );
    requested++;
  }
  log(
    `thaw: ${what}: ${requested ? `restore requested (${tier}, readable for ${days} day${days === 1 ? '' : 's'})` : 'a thaw was already started or done'}`,
  );
  for (;;) {
    const states = await Promise.all(keys.map((key) => stateOf(client, bucket, key, signal)));
    const waited = (Date.now() - started) / 1000;
    const expired = states.filter((s) => s.state === 'none').length;
    if (expired) {
      // Requested a moment ago and gone again: S3 refused or dropped the request.
      throw new RestoreDrillError(
        `thaw of ${what}: ${expired} object(s) show no restore after it was requested`,
        'run the drill again; check the bucket for lifecycle rules that delete restored copies',
      );
    }
    const ongoing = states.filter((s) => s.state === 'ongoing').length;
    if (ongoing === 0) {
      log(`thaw: ${what} is readable after ${formatDuration(waited)}`);
      return { objects: keys.length, seconds: waited, tier, requested };
    }
    if (options.wait === false) {
      throw new RestoreDrillError(
        `thaw of ${what} is still in progress (${tier}): the recovery point is not readable yet`,
        'run the drill again once the thaw is done — the next run resumes it (or leave archive.wait at its default to wait)',
      );
    }
    if (waited + pollEvery > timeout) {
      throw new RestoreDrillError(
        `thaw of ${what} did not finish within the archive timeout of ${formatDuration(timeout)} (${tier})`,
        'raise archive.timeout, or choose a faster tier; the next run resumes the thaw',
      );
    }
    log(
      `thaw: ${keys.length - ongoing} of ${keys.length} object(s) readable, waiting (${tier}, ${formatDuration(waited)} so far)`,
    );
    await sleep(pollEvery * 1000, undefined, { signal }).catch(() => {
      throw new InterruptedError(signal?.reason);
    });
  }
}

async function stateOf(client: S3Client, bucket: string, key: string, signal?: AbortSignal): Promise<RestoreState> {
  const { HeadObjectCommand } = await s3Sdk();
  const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: signal });
  if (!ARCHIVE_CLASSES.has(head.StorageClass ?? 'STANDARD')) return { state: 'restored' };
  return restoreState(head.Restore);
}
