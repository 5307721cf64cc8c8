// A WAL archive kept in S3 (`s3://bucket/prefix/`, as `archive_command` tools such as `aws s3 cp` leave it):
// listed by key names, and the segments a backup needs downloaded into the run's work folder, where the
// restore reads them as it reads a local archive (compressed ones are decompressed while staged).

import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { createS3Client, customEndpoint, type S3ClientOptions } from '../../aws/s3-client.ts';
import { explainS3Error } from '../../aws/s3-errors.ts';
import { downloadObject, listObjects } from '../s3/s3-dump-source.ts';
import { parseS3Uri, s3Uri } from '../s3/s3-uri.ts';
import { walSegmentsIn, type WalSegment } from './wal-archive.ts';

/** The S3 client of a WAL archive: its own endpoint, region and credentials, or a ready-made client. */
export interface S3WalArchiveOptions extends S3ClientOptions {
  readonly client?: S3Client;
}

/** Whether `walArchive` names an S3 prefix rather than a folder. */
export function isS3WalArchive(walArchive: string): boolean {
  return walArchive.startsWith('s3://');
}

/**
 * Reads a WAL archive under an S3 prefix: `list` its segments (sorted by position, a segment archived plain and
 * compressed listed once, plain) and `download` those from a segment on, with every timeline history, into a
 * folder. S3 failures a user can fix (bucket, credentials, region, endpoint) are one-line ConfigErrors.
 *
 * @example
 * const archive = s3WalArchive('s3://acme-wal/shop/', { region: 'eu-west-1' });
 * const segments = await archive.list(signal);
 */
export function s3WalArchive(uri: string, options: S3WalArchiveOptions = {}) {
  const { bucket, key } = parseS3Uri(uri);
  const prefix = key === '' || key.endsWith('/') ? key : `${key}/`;
  let client: Promise<S3Client> | undefined;
  const call = async <T>(work: (s3: S3Client) => Promise<T>): Promise<T> => {
    client ??= options.client ? Promise.resolve(options.client) : createS3Client(options);
    const s3 = await client;
    try {
      return await work(s3);
    } catch (error) {
      throw explainS3Error(error, {
        uri: s3Uri(bucket, prefix),
        bucket,
        ...(options.client ? {} : { endpoint: customEndpoint(options) }),
        region: await s3.config.region().catch(() => undefined),
      });
    }
  };
  const listing = async (signal?: AbortSignal) => {
    const objects = await call((s3) => listObjects(s3, bucket, prefix, signal));
    const names = objects.map((o) => ({ key: o.Key!, name: o.Key!.slice(prefix.length), size: o.Size ?? -1 }));
    const byFile = new Map(names.map((object) => [object.name, object]));
    const segments = walSegmentsIn(names.map((object) => object.name)).map((segment) => ({
      ...segment,
      key: byFile.get(segment.file)!.key,
      size: byFile.get(segment.file)!.size,
    }));
    const histories = names.filter((object) => /^[0-9A-F]{8}\.history$/.test(object.name));
    return { segments, histories };
  };
  return {
    uri: s3Uri(bucket, prefix),
    async list(signal?: AbortSignal): Promise<WalSegment[]> {
      return (await listing(signal)).segments;
    },
    /** Downloads the segments from `from` on (and the histories) into `into`; returns how many segments. */
    async download(from: WalSegment, into: string, signal?: AbortSignal): Promise<number> {
      const { segments, histories } = await listing(signal);
      const needed = segments.filter((s) => s.segNo >= from.segNo && s.timeline >= from.timeline);
      for (const object of [...needed.map((s) => ({ key: s.key, name: s.file, size: s.size })), ...histories]) {
        await call((s3) =>
          downloadObject(
            s3,
            bucket,
            { key: object.key, path: join(into, object.name), size: object.size },
            null,
            signal,
          ),
        );
      }
      return needed.length;
    },
  };
}
