import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename, relative, sep } from 'node:path';
import type { CompletedPart, S3Client } from '@aws-sdk/client-s3';
import { s3Sdk } from '../../aws/sdk.ts';
import { readDumpHeader } from '../../postgres/dump-header.ts';
import { manifestPathFor } from '../../markers/dump-manifest.ts';
import { listFiles } from '../../util/list-files.ts';
import { dumpFormat } from '../local-dump.ts';
import { createS3Client, customEndpoint } from '../../aws/s3-client.ts';
import { explainS3Error } from '../../aws/s3-errors.ts';
import { parseS3Uri, s3Uri } from './s3-uri.ts';

/** Options of {@link uploadDump}. */
export interface UploadDumpOptions {
  /** Files larger than this go up in parts of this size (S3 needs ≥ 5 MiB); default 64 MiB. */
  readonly partSizeBytes?: number;
  readonly log?: (line: string) => void;
  readonly signal?: AbortSignal;
}

/** What {@link uploadDump} put into S3. */
export interface UploadedDump {
  /** `s3://` URI of the dump (a directory dump's folder, without trailing `/`). */
  readonly uri: string;
  readonly objects: number;
  readonly bytes: number;
}

const DEFAULT_PART_SIZE = 64 * 1024 * 1024;
/** S3 allows at most this many parts per upload. */
const MAX_PARTS = 10_000;

/**
 * Uploads a local dump so {@link s3DumpSource} finds it: a custom-format archive as one object, a
 * directory-format dump file by file under `<key>/`, and the manifest beside it as `<key>.manifest.json`.
 * An URI ending in `/` is a folder: the dump keeps its file name there. A directory dump's `toc.dat` goes
 * after its other files, because `toc.dat` is what makes a folder a dump to readers: nobody lists a
 * half-uploaded dump. The manifest goes last: it vouches for the dump beside it, so it must never stand
 * beside a dump that is not all there (an upload killed half-way, or an older dump at the same key).
 * Files are streamed, in parts above `partSizeBytes` (no 5 GiB limit).
 *
 * @example
 * await uploadDump('backups/shop.dump', 's3://acme-backups/shop/'); // s3://acme-backups/shop/shop.dump
 */
export async function uploadDump(
  localPath: string,
  uri: string,
  client?: S3Client,
  options: UploadDumpOptions = {},
): Promise<UploadedDump> {
  const isDirectory = (await stat(localPath)).isDirectory();
  dumpFormat(await readDumpHeader(localPath), localPath, isDirectory);
  const target = parseS3Uri(uri);
  const name = basename(localPath.replace(/\/+$/, ''));
  const key = (target.key === '' || target.key.endsWith('/') ? `${target.key}${name}` : target.key).replace(/\/+$/, '');
  const dumpUri = s3Uri(target.bucket, key);

  const files: { path: string; key: string }[] = [];
  if (isDirectory) {
    const inside = (await listFiles(localPath)).map((path) => ({
      path,
      key: `${key}/${relative(localPath, path).split(sep).join('/')}`,
    }));
    files.push(
      ...inside.filter((f) => !f.key.endsWith('/toc.dat')),
      ...inside.filter((f) => f.key.endsWith('/toc.dat')),
    );
  } else {
    files.push({ path: localPath, key });
  }
  const manifest = manifestPathFor(localPath);
  if (await exists(manifest)) files.push({ path: manifest, key: manifestPathFor(key) });

  const s3 = client ?? (await createS3Client());
  let bytes = 0;
  try {
    for (const file of files) {
      const size = (await stat(file.path)).size;
      options.log?.(`upload: ${s3Uri(target.bucket, file.key)} (${size} bytes)`);
      await putFile(s3, target.bucket, file.key, file.path, size, options);
      bytes += size;
    }
  } catch (error) {
    throw explainS3Error(error, {
      uri: dumpUri,
      bucket: target.bucket,
      endpoint: client ? undefined : customEndpoint(),
    });
  } finally {
    if (!client) s3.destroy();
  }
  return { uri: dumpUri, objects: files.length, bytes };
}

/**
 * Checks, before a dump of production starts, that the bucket of `uri` exists and the credentials work, so a
 * typo in the bucket name does not cost a whole dump. A listing the credentials may not make (a write-only
 * backup role) proves nothing either way and is let through: the upload then says what is wrong.
 *
 * @example
 * await checkUploadTarget('s3://acme-backups/shop/'); // throws ConfigError: no such S3 bucket: acme-backups
 */
export async function checkUploadTarget(uri: string, client?: S3Client, signal?: AbortSignal): Promise<void> {
  const { ListObjectsV2Command } = await s3Sdk();
  const { bucket } = parseS3Uri(uri);
  const s3 = client ?? (await createS3Client());
  try {
    await s3.send(new ListObjectsV2Command({ Bucket: bucket, MaxKeys: 1 }), { abortSignal: signal });
  } catch (error) {
    // Only a refused listing; wrong credentials (also a 403) fail here, before the dump.
    if ((error as Error).name === 'AccessDenied') return;
    throw explainS3Error(error, { uri, bucket, endpoint: client ? undefined : customEndpoint() });
  } finally {
    if (!client) s3.destroy();
  }
}

async function putFile(
  s3: S3Client,
  bucket: string,
  key: string,
  path: string,
  size: number,
  options: UploadDumpOptions,
): Promise<void> {
  const {
    AbortMultipartUploadCommand,
    CompleteMultipartUploadCommand,
    CreateMultipartUploadCommand,
    PutObjectCommand,
    UploadPartCommand,
  } = await s3Sdk();
  const partSize = Math.max(options.partSizeBytes ?? DEFAULT_PART_SIZE, Math.ceil(size / MAX_PARTS));
  const abortSignal = options.signal;
  if (size <= partSize) {
    await s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: key, Body: createReadStream(path), ContentLength: size }),
      { abortSignal },
    );
    return;
  }
  const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }), { abortSignal });
  try {
    const parts: CompletedPart[] = [];
    for (let start = 0, number = 1; start < size; start += partSize, number++) {
      const length = Math.min(partSize, size - start);
      const body = createReadStream(path, { start, end: start + length - 1 });
      const part = await s3.send(
        new UploadPartCommand({
          Bucket: bucket,
          Key: key,
          UploadId,
          PartNumber: number,
          Body: body,
          ContentLength: length,
        }),
        { abortSignal },
      );
      // Checksums the SDK added to a part must be repeated when completing the upload.
      parts.push({
        PartNumber: number,
        ETag: part.ETag,
        ChecksumCRC32: part.ChecksumCRC32,
        ChecksumCRC32C: part.ChecksumCRC32C,
      });
    }
    await s3.send(
      new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId, MultipartUpload: { Parts: parts } }),
      { abortSignal },
    );
  } catch (error) {
    // An unfinished multipart upload is billed until aborted.
    await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId })).catch(() => {});
    throw error;
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
