// The S3 source: implements `Source` (../source.ts) over `pg_dump` archives in an S3 bucket (or an
// S3-compatible store), downloaded into the run's work directory as `pg-dump` restorables. s3-uri.ts parses
// `s3://` URIs; upload-dump.ts is the other direction (`restore-drill dump --out s3://…`). AWS clients and
// errors: src/aws/.

import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { S3Client, _Object } from '@aws-sdk/client-s3';
import { s3Sdk } from '../../aws/sdk.ts';
import { ConfigError, RestoreDrillError } from '../../errors.ts';
import { parseDumpHeader, type DumpHeader } from '../../postgres/dump-header.ts';
import { mapLimit } from '../../util/map-limit.ts';
import { MANIFEST_SUFFIX, manifestPathFor, parseManifest } from '../../markers/dump-manifest.ts';
import { inspectLocalDump } from '../local-dump.ts';
import { createS3Client, customEndpoint, type S3ClientOptions } from '../../aws/s3-client.ts';
import { explainS3Error, type S3ErrorContext } from '../../aws/s3-errors.ts';
import { parseS3Uri, s3Uri } from './s3-uri.ts';
import { ARCHIVE_CLASSES, restoreState, thawArchived, type ArchiveOptions, type ThawResult } from './archive-thaw.ts';
import { formatDuration } from '../../util/duration.ts';
import { type Source, type SourceContext } from '../source.ts';
import { pgDumpRestorable, type RecoveryPoint, type PgDumpRestorable } from '../../model/recovery-point.ts';
import type { MarkerManifest } from '../../model/marker.ts';
import type { CheckResult } from '../../model/report.ts';

/** Options of the {@link s3DumpSource}; give `prefix` (a folder of dumps) or `key` (one dump). */
export interface S3DumpSourceOptions extends S3ClientOptions {
  readonly bucket: string;
  /** Folder of dumps, e.g. `shop/`; the whole bucket when neither `prefix` nor `key` is given. */
  readonly prefix?: string;
  /** One dump: a custom-format object, or the folder of a directory-format dump. */
  readonly key?: string;
  /** A ready-made client; default: {@link createS3Client} (standard AWS configuration). */
  readonly client?: S3Client;
  /**
   * Thaw a dump kept in S3 Glacier Flexible Retrieval or Deep Archive before the restore: `RestoreObject`
   * with this tier, then wait (see {@link ArchiveOptions}). Without it, an archived dump that is not
   * restored fails the drill with one line saying so.
   */
  readonly archive?: ArchiveOptions;
  /**
   * Where the bucket keeps its data, recorded as the points' `region` fact (what `residencyPolicy` checks)
   * when the signing `region` says nothing about it — Google Cloud Storage is signed with `region: 'auto'`
   * and its bucket location is e.g. `europe-west3`. Default: the client's region.
   */
  readonly location?: string;
}

const TOC = 'toc.dat';
/** Enough for any archive header (a few dozen bytes plus three short strings). */
const HEADER_BYTES = 4096;
const PROGRESS_STEP = 64 * 1024 * 1024;
/** Parallel S3 requests while listing: hides latency without flooding the bucket. */
const CONCURRENCY = 8;

/**
 * Recovery points that are `pg_dump` archives in S3 (or MinIO, Ceph, …). `s3://bucket/prefix/` means
 * every dump under the prefix, `s3://bucket/key` one dump. A dump is a custom-format object (checked by
 * its `PGDMP` header, so checksums or notes beside it are ignored) or a directory-format dump: a folder
 * holding `toc.dat`. A point's time is the `takenAt` of the manifest `restore-drill dump` uploaded beside
 * it, else the object's LastModified (for a directory dump, its `toc.dat`'s). `fetch` streams the objects
 * into the run's work dir. Credentials, region and endpoint come from the standard AWS configuration;
 * the region defaults to `us-east-1` only when none is configured anywhere. A dump in an archive storage
 * class (`GLACIER`, `DEEP_ARCHIVE`) is listed from its metadata (facts `archived`, `restore`) and thawed
 * before the download when the `archive` option is given.
 *
 * @example
 * // A long-term backup in Deep Archive: thawed with the Bulk tier, waited for, then restored.
 * s3DumpSource({ bucket: 'acme-archive', prefix: 'shop/', archive: { tier: 'Bulk', days: 2 } });
 * @example
 * drill('orders from S3', { source: s3DumpSource('s3://acme-backups/orders/'), environment: localPostgres() }, …);
 */
export function s3DumpSource(uriOrOptions: string | S3DumpSourceOptions): Source<PgDumpRestorable> {
  const options = typeof uriOrOptions === 'string' ? optionsFromUri(uriOrOptions) : uriOrOptions;
  const { bucket } = options;
  const wanted =
    options.key !== undefined ? { key: options.key.replace(/\/+$/, '') } : { prefix: folder(options.prefix ?? '') };
  const location = s3Uri(bucket, wanted.key ?? wanted.prefix);
  let client: Promise<S3Client> | undefined;
  const s3 = () => (client ??= options.client ? Promise.resolve(options.client) : createS3Client(options));
  const where = async (uri: string): Promise<S3ErrorContext> => ({
    uri,
    bucket,
    endpoint: options.client ? undefined : customEndpoint(options),
    region: await (await s3()).config.region().catch(() => undefined),
  });
  /** Runs one S3 call, turning what the user can fix into a ConfigError about `uri`. */
  const call = async <T>(uri: string, work: (client: S3Client) => Promise<T>): Promise<T> => {
    try {
      return await work(await s3());
    } catch (error) {
      throw explainS3Error(error, await where(uri));
    }
  };
  // Points this source thawed in this run: the thaw phase ran, so fetch does not thaw (nor report it) again.
  const thawedPoints = new Set<string>();
  const thawFor = (point: RecoveryPoint) => {
    if (point.source !== 's3-dump' || point.facts.archived !== true || thawedPoints.has(point.id)) return null;
    return async (context: SourceContext): Promise<CheckResult[]> => {
      const { bucket: pointBucket, key } = parseS3Uri(point.id);
      const isDirectory = point.facts.layout === 'directory';
      const thawed = await call(point.id, (client) =>
        thaw(client, pointBucket, key, isDirectory, options.archive, context),
      );
      thawedPoints.add(point.id);
      return [thawedCheck(thawed)];
    };
  };

  return {
    kind: 's3-dump',
    describe: () => `s3-dump ${location}`,
    async list(context) {
      const prefix = wanted.key ?? wanted.prefix;
      let objects = await call(location, (client) => listObjects(client, bucket, prefix, context.signal));
      // A key also lists `key-2.dump` and the like; keep the key itself, its folder and its manifest.
      if (wanted.key !== undefined) {
        const key = wanted.key;
        objects = objects.filter(
          (o) => o.Key === key || o.Key === manifestPathFor(key) || o.Key!.startsWith(`${key}/`),
        );
      }
      const candidates = findCandidates(objects);
      const single = wanted.key !== undefined ? candidates.filter((c) => c.idKey === wanted.key) : [];
      const points = (
        await mapLimit(single.length ? single : candidates, CONCURRENCY, (candidate) =>
          call(s3Uri(bucket, candidate.idKey), (client) =>
            describeCandidate(client, bucket, candidate, context.signal),
          ),
        )
      ).filter((point): point is RecoveryPoint => point !== null);
      if (options.location)
        for (const point of points) (point.facts as Record<string, unknown>).region = options.location;
      if (points.length === 0) {
        throw new ConfigError(
          wanted.key !== undefined ? `no dump at ${location}` : `no dumps under ${location}`,
          'upload pg_dump archives (-Fc) or directory dumps (-Fd) there, e.g. with `restore-drill dump --out s3://…`',
        );
      }
      return points.sort(
        (a, b) =>
          b.createdAt.getTime() - a.createdAt.getTime() ||
          String(b.facts.lastModified).localeCompare(String(a.facts.lastModified)) ||
          a.id.localeCompare(b.id),
      );
    },
    thaw: thawFor,
    async fetch(point, context) {
      if (point.source !== 's3-dump')
        throw new Error(`s3-dump source cannot fetch a recovery point of source ${point.source}`);
      const { bucket: pointBucket, key } = parseS3Uri(point.id);
      const isDirectory = point.facts.layout === 'directory';
      const size = typeof point.facts.sizeBytes === 'number' ? point.facts.sizeBytes : -1;
      // Called without the drill's thaw phase (e.g. directly): thawed here, and the check travels on the restorable.
      const checks = (await thawFor(point)?.(context)) ?? [];
      const restorable = await call(point.id, (client) =>
        download(client, pointBucket, key, isDirectory, size, context),
      );
      return checks.length ? { ...restorable, checks } : restorable;
    },
  };
}

function optionsFromUri(uri: string): S3DumpSourceOptions {
  const { bucket, key } = parseS3Uri(uri);
  return key === '' || key.endsWith('/') ? { bucket, prefix: key } : { bucket, key };
}

/** `shop` → `shop/`, so that a prefix never matches `shop-old/…`. */
function folder(prefix: string): string {
  return prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`;
}

/** Every object under `prefix`, page by page. */
export async function listObjects(
  client: S3Client,
  bucket: string,
  prefix: string,
  signal?: AbortSignal,
): Promise<_Object[]> {
  const { paginateListObjectsV2 } = await s3Sdk();
  const objects: _Object[] = [];
  for await (const page of paginateListObjectsV2(
    { client },
    { Bucket: bucket, Prefix: prefix },
    { abortSignal: signal },
  )) {
    signal?.throwIfAborted();
    objects.push(...(page.Contents ?? []).filter((o) => o.Key !== undefined));
  }
  return objects;
}

/** A possible dump found in a listing, before its header is read. */
interface Candidate {
  readonly layout: 'object' | 'directory';
  /** The object key, or the directory dump's folder without trailing `/`. */
  readonly idKey: string;
  /** The object holding the archive header: the object itself or the folder's `toc.dat`. */
  readonly headerKey: string;
  readonly header: _Object;
  sizeBytes: number;
  files: number;
  manifestKey?: string;
}

/** Groups a listing into dumps: folders with a `toc.dat`, and other objects that are neither manifests nor inside such a folder. */
function findCandidates(objects: readonly _Object[]): Candidate[] {
  const keys = new Set(objects.map((o) => o.Key!));
  const directories = new Map<string, Candidate>();
  for (const object of objects) {
    const key = object.Key!;
    if (key !== TOC && !key.endsWith(`/${TOC}`)) continue;
    const folderKey = key.slice(0, -TOC.length);
    directories.set(folderKey, {
      layout: 'directory',
      idKey: folderKey.replace(/\/$/, ''),
      headerKey: key,
      header: object,
      sizeBytes: 0,
      files: 0,
    });
  }
  const singles: Candidate[] = [];
  for (const object of objects) {
    const key = object.Key!;
    if (key.endsWith(MANIFEST_SUFFIX) || key.endsWith('/')) continue;
    const directory = enclosingDirectory(key, directories);
    if (directory) {
      directory.sizeBytes += object.Size ?? 0;
      directory.files += 1;
    } else {
      singles.push({
        layout: 'object',
        idKey: key,
        headerKey: key,
        header: object,
        sizeBytes: object.Size ?? 0,
        files: 1,
      });
    }
  }
  const candidates = [...directories.values(), ...singles];
  for (const candidate of candidates) {
    const manifestKey = manifestPathFor(candidate.idKey);
    if (keys.has(manifestKey)) candidate.manifestKey = manifestKey;
  }
  return candidates;
}

function enclosingDirectory(key: string, directories: Map<string, Candidate>): Candidate | undefined {
  if (directories.has('')) return directories.get('');
  for (let slash = key.indexOf('/'); slash !== -1; slash = key.indexOf('/', slash + 1)) {
    const found = directories.get(key.slice(0, slash + 1));
    if (found) return found;
  }
  return undefined;
}

/**
 * Reads the candidate's archive header with a ranged GET, which also returns the encryption headers a
 * HEAD would: one request per dump. Returns null for objects that are not pg_dump archives.
 */
async function describeCandidate(
  client: S3Client,
  bucket: string,
  candidate: Candidate,
  signal?: AbortSignal,
): Promise<RecoveryPoint | null> {
  const { GetObjectCommand, HeadObjectCommand } = await s3Sdk();
  const id = s3Uri(bucket, candidate.idKey);
  const headerSize = candidate.header.Size ?? 0;
  let bytes = Buffer.alloc(0);
  let encryption: { ServerSideEncryption?: string; SSEKMSKeyId?: string };
  const archived = ARCHIVE_CLASSES.has(candidate.header.StorageClass ?? 'STANDARD');
  if (archived) {
    // Not readable until thawed: its metadata says what it is; the header is read after the thaw.
    const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: candidate.headerKey }), {
      abortSignal: signal,
    });
    const state = restoreState(head.Restore);
    if (state.state !== 'restored') return archivedPoint(client, bucket, candidate, head, state.state, signal);
  }
  if (headerSize > 0) {
    const response = await client.send(
      new GetObjectCommand({ Bucket: bucket, Key: candidate.headerKey, Range: `bytes=0-${HEADER_BYTES - 1}` }),
      {
        abortSignal: signal,
      },
    );
    bytes = Buffer.from(await response.Body!.transformToByteArray());
    encryption = response;
  } else {
    // A ranged GET of an empty object is refused (416); HEAD still tells the encryption.
    encryption = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: candidate.headerKey }), {
      abortSignal: signal,
    });
  }
  if (candidate.layout === 'object' && bytes.length >= 5 && bytes.subarray(0, 5).toString('latin1') !== 'PGDMP')
    return null;

  let header: DumpHeader | undefined;
  let problem: string | undefined;
  try {
    header = parseDumpHeader(bytes, id);
    // A lone toc.dat object carries the tar code and is not restorable on its own.
    if (candidate.layout === 'object' && header.format !== 'custom') problem = `${id} is not a custom-format archive`;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    // Kept, not skipped: if this broken dump is the newest, the drill must fail on it, not restore an older one.
    problem = error.message;
  }
  const manifest = candidate.manifestKey
    ? await readManifestObject(client, bucket, candidate.manifestKey, signal)
    : undefined;
  const lastModified = candidate.header.LastModified ?? new Date(0);
  const facts: RecoveryPoint['facts'] = {
    layout: candidate.layout,
    format: problem ? null : candidate.layout === 'directory' ? 'directory' : 'custom',
    sizeBytes: candidate.sizeBytes,
    ...(candidate.layout === 'directory' ? { files: candidate.files } : {}),
    etag: candidate.header.ETag ?? null,
    storageClass: candidate.header.StorageClass ?? 'STANDARD',
    ...(archived ? { archived: true, restore: 'restored' } : {}),
    serverSideEncryption: encryption.ServerSideEncryption ?? null,
    ...(encryption.SSEKMSKeyId ? { kmsKeyId: encryption.SSEKMSKeyId } : {}),
    // A successful call proves the region is right for AWS (S3 answers 301 otherwise).
    region: (await client.config.region()) ?? null,
    bucket,
    lastModified: lastModified.toISOString(),
    serverVersion: header?.serverVersion ?? null,
    pgDumpVersion: header?.pgDumpVersion ?? null,
    archiveVersion: header?.archiveVersion ?? null,
    database: header?.database ?? null,
    ...(problem ? { problem } : {}),
  };
  return manifest
    ? { source: 's3-dump', id, createdAt: new Date(manifest.takenAt), createdAtBasis: 'manifest', facts }
    : { source: 's3-dump', id, createdAt: lastModified, createdAtBasis: 's3-last-modified', facts };
}

async function readManifestObject(
  client: S3Client,
  bucket: string,
  key: string,
  signal?: AbortSignal,
): Promise<MarkerManifest> {
  const { GetObjectCommand } = await s3Sdk();
  const response = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: signal });
  return parseManifest(await response.Body!.transformToString('utf8'), s3Uri(bucket, key));
}

/** A recovery point in an archive storage class that is not readable yet: what its metadata tells. */
async function archivedPoint(
  client: S3Client,
  bucket: string,
  candidate: Candidate,
  head: { ServerSideEncryption?: string; SSEKMSKeyId?: string },
  state: 'none' | 'ongoing',
  signal?: AbortSignal,
): Promise<RecoveryPoint> {
  const lastModified = candidate.header.LastModified ?? new Date(0);
  // A manifest kept in a readable class still dates the dump; an archived one is read after the thaw.
  const manifest = candidate.manifestKey
    ? await readManifestObject(client, bucket, candidate.manifestKey, signal).catch(() => undefined)
    : undefined;
  const facts: RecoveryPoint['facts'] = {
    layout: candidate.layout,
    format: null,
    sizeBytes: candidate.sizeBytes,
    ...(candidate.layout === 'directory' ? { files: candidate.files } : {}),
    etag: candidate.header.ETag ?? null,
    storageClass: candidate.header.StorageClass ?? null,
    archived: true,
    restore: state === 'ongoing' ? 'in progress' : 'not restored',
    serverSideEncryption: head.ServerSideEncryption ?? null,
    ...(head.SSEKMSKeyId ? { kmsKeyId: head.SSEKMSKeyId } : {}),
    region: (await client.config.region()) ?? null,
    bucket,
    lastModified: lastModified.toISOString(),
  };
  const id = s3Uri(bucket, candidate.idKey);
  return manifest
    ? { source: 's3-dump', id, createdAt: new Date(manifest.takenAt), createdAtBasis: 'manifest', facts }
    : { source: 's3-dump', id, createdAt: lastModified, createdAtBasis: 's3-last-modified', facts };
}

/** Thaws the archived objects of one dump (and its manifest) before the download, or says why it cannot. */
async function thaw(
  client: S3Client,
  bucket: string,
  key: string,
  isDirectory: boolean,
  archive: ArchiveOptions | undefined,
  context: SourceContext,
): Promise<ThawResult> {
  const { HeadObjectCommand } = await s3Sdk();
  const { signal } = context;
  const storageClass = (k: string) =>
    client.send(new HeadObjectCommand({ Bucket: bucket, Key: k }), { abortSignal: signal }).then(
      (head) => head.StorageClass ?? 'STANDARD',
      () => null, // no manifest beside the dump
    );
  const files = isDirectory
    ? (await listObjects(client, bucket, folder(key), signal)).map((o) => ({
        key: o.Key!,
        storageClass: o.StorageClass ?? 'STANDARD',
      }))
    : [{ key, storageClass: await storageClass(key) }];
  const manifestClass = await storageClass(manifestPathFor(key));
  if (manifestClass) files.push({ key: manifestPathFor(key), storageClass: manifestClass });
  const keys = files.filter((f) => f.storageClass !== null && ARCHIVE_CLASSES.has(f.storageClass)).map((f) => f.key);
  if (archive) return thawArchived(client, bucket, keys, archive, context);
  const states = await Promise.all(
    keys.map(async (k) =>
      restoreState(
        (await client.send(new HeadObjectCommand({ Bucket: bucket, Key: k }), { abortSignal: signal })).Restore,
      ),
    ),
  );
  const uri = s3Uri(bucket, key);
  if (states.some((s) => s.state === 'ongoing')) {
    throw new ConfigError(
      `${uri} is archived and its thaw is still in progress`,
      'run the drill again once it is done, or give s3DumpSource archive: { tier, days } to wait for it',
    );
  }
  if (states.some((s) => s.state === 'none')) {
    throw new ConfigError(
      `${uri} is archived and not restored (never thawed, or its thaw expired)`,
      "give s3DumpSource archive: { tier: 'Bulk', days: 1 } to thaw it in the drill, or restore it by hand first",
    );
  }
  return { objects: keys.length, seconds: 0, tier: 'restored before the drill', requested: 0 };
}

/** The check a thaw leaves in the report: an auditor sees what restoring from cold storage took. */
function thawedCheck(thawed: ThawResult): CheckResult {
  return {
    name: 'archive thawed',
    status: 'passed',
    expected: 'the archived recovery point becomes readable',
    actual: `${thawed.objects} object(s) readable after ${formatDuration(thawed.seconds)} of waiting (${thawed.tier})`,
    detail: thawed.requested
      ? `this run requested ${thawed.requested} restore(s)`
      : 'the thaw was started by an earlier run or by hand; this run resumed it',
  };
}

/** One object to download and where it goes. */
/** One object to download: its key, the file it goes to, its size when known (else -1). */
export interface Transfer {
  readonly key: string;
  readonly path: string;
  readonly size: number;
}

async function download(
  client: S3Client,
  bucket: string,
  key: string,
  isDirectory: boolean,
  size: number,
  context: SourceContext,
): Promise<PgDumpRestorable> {
  const { log, signal } = context;
  const local = join(await mkdtemp(join(context.workDir, 's3-dump-')), basename(key) || bucket);
  const transfers: Transfer[] = isDirectory
    ? (await listObjects(client, bucket, folder(key), signal))
        .filter((o) => !o.Key!.endsWith('/'))
        .map((o) => ({
          key: o.Key!,
          path: join(local, safeRelativePath(o.Key!.slice(folder(key).length), bucket, o.Key!)),
          size: o.Size ?? 0,
        }))
    : [{ key, path: local, size }];
  const manifestKey = manifestPathFor(key);
  const total = transfers.reduce((sum, t) => sum + Math.max(t.size, 0), 0);
  const started = Date.now();
  log(`download: ${s3Uri(bucket, key)} (${isDirectory ? `${transfers.length} files, ` : ''}${mib(total)})`);

  const progress = { done: 0, total, nextLog: PROGRESS_STEP, log };
  for (const transfer of transfers) await downloadObject(client, bucket, transfer, progress, signal);
  const manifest = await downloadObject(
    client,
    bucket,
    { key: manifestKey, path: manifestPathFor(local), size: -1 },
    null,
    signal,
    true,
  );
  log(
    `download: done, ${mib(progress.done)} in ${((Date.now() - started) / 1000).toFixed(1)} s${manifest ? ', with manifest' : ''}`,
  );
  return pgDumpRestorable(await inspectLocalDump(local, signal));
}

interface Progress {
  done: number;
  total: number;
  nextLog: number;
  readonly log: (line: string) => void;
}

/** Streams one object to disk (never buffered whole) and checks its length. Returns false when `optional` and missing. */
export async function downloadObject(
  client: S3Client,
  bucket: string,
  transfer: Transfer,
  progress: Progress | null,
  signal?: AbortSignal,
  optional = false,
): Promise<boolean> {
  const { GetObjectCommand } = await s3Sdk();
  let response;
  try {
    response = await client.send(new GetObjectCommand({ Bucket: bucket, Key: transfer.key }), { abortSignal: signal });
  } catch (error) {
    if (optional && ((error as Error).name === 'NoSuchKey' || (error as Error).name === 'NotFound')) return false;
    throw error;
  }
  if (!(response.Body instanceof Readable)) throw new Error(`S3 returned no stream for ${s3Uri(bucket, transfer.key)}`);
  const expected = response.ContentLength ?? transfer.size;
  if (progress && transfer.size < 0) progress.total += expected;
  let received = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      received += chunk.length;
      if (progress) {
        progress.done += chunk.length;
        while (progress.done >= progress.nextLog) {
          progress.log(`download: ${mib(progress.nextLog)} of ${mib(progress.total)}`);
          progress.nextLog += PROGRESS_STEP;
        }
      }
      done(null, chunk);
    },
  });
  await mkdir(dirname(transfer.path), { recursive: true });
  await pipeline(response.Body, counter, createWriteStream(transfer.path, { flags: 'wx' }), { signal });
  if (expected >= 0 && received !== expected) {
    throw new RestoreDrillError(
      `download of ${s3Uri(bucket, transfer.key)} ended after ${received} of ${expected} bytes`,
      'run the drill again; check the network',
    );
  }
  return true;
}

/** A key's path below its dump folder, refused when it could escape the folder (`..`, empty segments). */
function safeRelativePath(relative: string, bucket: string, key: string): string {
  const parts = relative.split('/');
  if (parts.some((part) => part === '' || part === '.' || part === '..')) {
    throw new ConfigError(
      `unsafe object key in a directory dump: ${s3Uri(bucket, key)}`,
      'directory dumps hold plain file names only',
    );
  }
  return join(...parts);
}

function mib(bytes: number): string {
  const value = bytes / 1024 / 1024;
  return `${value >= 10 ? Math.round(value) : value.toFixed(1)} MiB`;
}
