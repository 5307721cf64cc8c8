import type { PutObjectCommandInput, S3Client } from '@aws-sdk/client-s3';
import { s3Sdk } from '../aws/sdk.ts';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ConfigError } from '../errors.ts';
import { compareReportNames, listReportFiles, REPORT_SUFFIX } from './report-files.ts';
import { createS3Client, customEndpoint } from '../aws/s3-client.ts';
import { explainS3Error } from '../aws/s3-errors.ts';
import { parseS3Uri } from '../sources/s3/s3-uri.ts';
import { parseDuration } from '../util/duration.ts';
import type { LedgerHead } from '../model/ledger-head.ts';
import type { LeaseObjects } from './lease-pool.ts';

/** Every S3 call gives up after this long: a hung connection must not hold a drill's report hostage. */
const CALL_TIMEOUT_MS = 20_000;
/** Positions in object keys are zero-padded so that key order is chain order. */
const POSITION_DIGITS = 12;

/** One position of the store's chain: which report holds it. Written once, never replaced. */
export interface StoreLedgerEntry extends LedgerHead {
  /** The `.report.json` file name under `reports/`. */
  readonly file: string;
  readonly drill: string;
  readonly finishedAt: string;
}

/** What an append puts into the store. */
export interface StoreAppend extends StoreLedgerEntry {
  /** The signed `.report.json` bytes. */
  readonly bytes: Buffer;
  /** The human `.report.md` written beside it. */
  readonly markdown: string;
}

/** A report object's Object Lock retention, as S3 reports it. */
export interface Retention {
  readonly mode: string;
  /** ISO 8601 UTC. */
  readonly retainUntil: string;
}

/** Options of {@link openEvidenceStore}. */
export interface EvidenceStoreOptions {
  /** `--evidence-retention`, e.g. `400d`: reports and ledger entries are locked (COMPLIANCE) this long. */
  readonly retention?: string;
  /** A ready client (tests); default one from the SDK's standard configuration. */
  readonly client?: S3Client;
}

/**
 * Where reports live beyond one machine: an S3 prefix holding
 *
 * - `reports/<name>.report.json` (and `.report.md`): the signed reports, under Object Lock retention when asked;
 * - `ledger/<position>.json`: one object per position of the chain, created with `If-None-Match: *`, so of
 *   two writers that read the same head only one can take the next position — the chain cannot fork;
 * - `head.json`: the newest position and digest, rewritten after every append.
 *
 * The chain is the store's as a whole, like a report directory's: `previous` is the digest of the report
 * at the position before.
 */
export class EvidenceStore {
  readonly uri: string;
  readonly #client: S3Client;
  readonly #bucket: string;
  readonly #prefix: string;
  readonly #retentionSeconds: number | null;

  constructor(uri: string, client: S3Client, retentionSeconds: number | null) {
    const { bucket, key } = parseS3Uri(uri);
    this.uri = uri;
    this.#client = client;
    this.#bucket = bucket;
    this.#prefix = key === '' || key.endsWith('/') ? key : `${key}/`;
    this.#retentionSeconds = retentionSeconds;
  }

  /** Whether reports are written with a retention period. */
  get retains(): boolean {
    return this.#retentionSeconds !== null;
  }

  /**
   * Checks that the bucket answers and, when a retention is asked for, that it has Object Lock: a
   * misconfigured store is a usage error before any drill runs, not a lost report hours later.
   */
  async check(): Promise<{ objectLock: boolean }> {
    const { GetObjectLockConfigurationCommand } = await s3Sdk();
    let objectLock = false;
    try {
      const config = await this.#call(this.uri, (o) =>
        this.#client.send(new GetObjectLockConfigurationCommand({ Bucket: this.#bucket }), o),
      );
      objectLock = config.ObjectLockConfiguration?.ObjectLockEnabled === 'Enabled';
    } catch (error) {
      if ((error as Error).name !== 'ObjectLockConfigurationNotFoundError') throw error;
    }
    // Listing proves read access to the prefix as well (the lock configuration is a bucket-level call).
    await this.#list('ledger/');
    if (this.retains && !objectLock) {
      throw new ConfigError(
        `evidence store ${this.uri}: bucket ${this.#bucket} has no S3 Object Lock, so --evidence-retention cannot be applied`,
        'use a bucket created with Object Lock enabled, or leave out --evidence-retention',
      );
    }
    return { objectLock };
  }

  /** The chain's positions in order, read from `ledger/` (one GET each). */
  async ledger(): Promise<StoreLedgerEntry[]> {
    const keys = (await this.#list('ledger/')).filter((k) => /^\d+\.json$/.test(k)).sort();
    return Promise.all(keys.map((k) => this.#readEntry(k)));
  }

  /** The newest position of the chain (the highest `ledger/` entry), or null for an empty store. */
  async tip(): Promise<StoreLedgerEntry | null> {
    const keys = (await this.#list('ledger/')).filter((k) => /^\d+\.json$/.test(k)).sort();
    const last = keys.at(-1);
    return last ? this.#readEntry(last) : null;
  }

  /** The `head.json` object, or null when the store has none yet. */
  async head(): Promise<StoreLedgerEntry | null> {
    const bytes = await this.#get('head.json');
    return bytes === null ? null : parseEntry(bytes.toString('utf8'), this.#uriOf('head.json'));
  }

  /** The `.report.json` file names stored under `reports/`, in ledger order. */
  async reportFiles(): Promise<string[]> {
    return (await this.#list('reports/'))
      .filter((k) => k.endsWith(REPORT_SUFFIX) && !k.includes('/'))
      .sort(compareReportNames);
  }

  /** The bytes of a stored report, or null when it is not there. */
  async readReport(file: string): Promise<Buffer | null> {
    return this.#get(`reports/${file}`);
  }

  /**
   * Downloads every stored report that `dir` lacks, so the directory holds the store's whole chain, and
   * returns what was downloaded. With `exclusive`, a report in `dir` that the store does not hold is a
   * usage error: writing on top of it would make a chain the store cannot follow.
   */
  async syncInto(dir: string, options: { exclusive?: boolean } = {}): Promise<string[]> {
    await mkdir(dir, { recursive: true });
    const stored = await this.reportFiles();
    if (options.exclusive) {
      const known = new Set(stored);
      const foreign = (await listReportFiles(dir)).filter((name) => !known.has(name));
      if (foreign.length > 0) {
        throw new ConfigError(
          `report directory ${dir} holds ${foreign.length} report(s) that are not in the evidence store ${this.uri} (e.g. ${foreign[0]})`,
          'with --evidence, use a report directory that only the store fills (an empty one is fine)',
        );
      }
    }
    const missing = stored.filter((name) => !existsSync(join(dir, name)));
    for (const name of missing) {
      const bytes = await this.readReport(name);
      if (bytes) await writeAtomically(join(dir, name), bytes);
    }
    return missing;
  }

  /**
   * Takes position `entry.position` of the chain and stores the report there. Returns `conflict` when
   * another writer took that position first (nothing was written then): read the new tip and try again.
   */
  async append(entry: StoreAppend): Promise<'appended' | 'conflict'> {
    const record = `${JSON.stringify({ position: entry.position, digest: entry.digest, file: entry.file, drill: entry.drill, finishedAt: entry.finishedAt }, null, 2)}\n`;
    const lock = this.#lockFields();
    try {
      await this.#put(`ledger/${pad(entry.position)}.json`, record, { IfNoneMatch: '*', ...lock });
    } catch (error) {
      if (isConflict(error)) return 'conflict';
      throw error;
    }
    // The position is ours: the report it names goes up next. A report object is only ever written by the
    // writer that took its position, so If-None-Match here guards against overwriting, never races.
    await this.#put(`reports/${entry.file}`, entry.bytes, {
      IfNoneMatch: '*',
      ...lock,
      ContentType: 'application/json',
    });
    await this.#put(`reports/${entry.file.slice(0, -REPORT_SUFFIX.length)}.report.md`, entry.markdown, {
      ContentType: 'text/markdown; charset=utf-8',
    });
    await this.#put('head.json', record, { ContentType: 'application/json' });
    return 'appended';
  }

  /**
   * A fleet file kept beside the chain, never part of it (`fleet/<name>`: e.g. the timings `merge` leaves
   * for the next run's shard plan), or null when there is none.
   */
  async readFleetFile(name: string): Promise<Buffer | null> {
    return this.#get(`fleet/${name}`);
  }

  /**
   * Writes a fleet file (`fleet/<name>`). With `create`, only when it does not exist yet (`If-None-Match`):
   * returns `exists` when another writer made it first.
   */
  async writeFleetFile(name: string, body: string, options: { create?: boolean } = {}): Promise<'written' | 'exists'> {
    try {
      await this.#put(`fleet/${name}`, body, {
        ContentType: 'application/json',
        ...(options.create ? { IfNoneMatch: '*' } : {}),
      });
    } catch (error) {
      if (options.create && isConflict(error)) return 'exists';
      throw error;
    }
    return 'written';
  }

  /**
   * The lease pool `leases/<pool>/` beside the chain (never part of it): objects created with
   * `If-None-Match: *`, so of two shards racing for one slot only one gets it. See `acquireLease`.
   */
  leaseObjects(pool: string): LeaseObjects {
    const sub = `leases/${pool}/`;
    return {
      where: this.#uriOf(sub),
      list: () => this.#list(sub),
      create: async (name, body) => {
        try {
          await this.#put(sub + name, body, { IfNoneMatch: '*', ContentType: 'application/json' });
          return 'created';
        } catch (error) {
          if (isConflict(error)) return 'exists';
          throw error;
        }
      },
      read: async (name) => (await this.#get(sub + name))?.toString('utf8') ?? null,
      replace: (name, body) => this.#put(sub + name, body, { ContentType: 'application/json' }),
      remove: async (name) => {
        const { DeleteObjectCommand } = await s3Sdk();
        const key = this.#prefix + sub + name;
        await this.#call(this.#uriOf(sub + name), (o) =>
          this.#client.send(new DeleteObjectCommand({ Bucket: this.#bucket, Key: key }), o),
        );
      },
    };
  }

  /** The Object Lock retention of a stored report, or null when it has none. */
  async retention(file: string): Promise<Retention | null> {
    const { HeadObjectCommand } = await s3Sdk();
    // HeadObject carries the object's lock mode and retain-until date (for callers allowed
    // s3:GetObjectRetention); moto 5.2 answers GetObjectRetention itself with the object's body.
    const key = this.#prefix + `reports/${file}`;
    const head = await this.#call(this.#uriOf(`reports/${file}`), (o) =>
      this.#client.send(new HeadObjectCommand({ Bucket: this.#bucket, Key: key }), o),
    );
    if (!head.ObjectLockMode || !head.ObjectLockRetainUntilDate) return null;
    return { mode: head.ObjectLockMode, retainUntil: new Date(head.ObjectLockRetainUntilDate).toISOString() };
  }

  /** Closes the client's connections. */
  destroy(): void {
    this.#client.destroy();
  }

  #lockFields() {
    if (this.#retentionSeconds === null) return {};
    return {
      ObjectLockMode: 'COMPLIANCE' as const,
      ObjectLockRetainUntilDate: new Date(Date.now() + this.#retentionSeconds * 1000),
    };
  }

  async #readEntry(name: string): Promise<StoreLedgerEntry> {
    const bytes = await this.#get(`ledger/${name}`);
    if (bytes === null)
      throw new ConfigError(`evidence store ${this.uri}: ledger entry ${name} vanished while being read`);
    return parseEntry(bytes.toString('utf8'), this.#uriOf(`ledger/${name}`));
  }

  /** Keys under `prefix + sub`, relative to it. */
  async #list(sub: string): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const { ListObjectsV2Command } = await s3Sdk();
      const input = { Bucket: this.#bucket, Prefix: this.#prefix + sub, ContinuationToken: token };
      const page = await this.#call(this.#uriOf(sub), (o) => this.#client.send(new ListObjectsV2Command(input), o));
      for (const object of page.Contents ?? [])
        if (object.Key) keys.push(object.Key.slice((this.#prefix + sub).length));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return keys;
  }

  /** An object's exact bytes (a report's digest is over them), or null when it is not there. */
  async #get(sub: string): Promise<Buffer | null> {
    const { GetObjectCommand } = await s3Sdk();
    try {
      const key = this.#prefix + sub;
      const response = await this.#call(
        this.#uriOf(sub),
        (o) => this.#client.send(new GetObjectCommand({ Bucket: this.#bucket, Key: key }), o),
        true,
      );
      return Buffer.from((await response.Body?.transformToByteArray()) ?? new Uint8Array());
    } catch (error) {
      if (
        (error as Error).name === 'NoSuchKey' ||
        (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404
      )
        return null;
      throw error;
    }
  }

  async #put(
    sub: string,
    body: string | Buffer,
    extra: Omit<PutObjectCommandInput, 'Bucket' | 'Key' | 'Body'>,
  ): Promise<void> {
    const { PutObjectCommand } = await s3Sdk();
    const input = { Bucket: this.#bucket, Key: this.#prefix + sub, Body: body, ...extra };
    await this.#call(this.#uriOf(sub), (o) => this.#client.send(new PutObjectCommand(input), o), true);
  }

  /** One S3 call with a timeout; errors a user can fix become one-line ConfigErrors (raw ones with `raw`). */
  async #call<T>(uri: string, send: (options: { abortSignal: AbortSignal }) => Promise<T>, raw = false): Promise<T> {
    try {
      return await send({ abortSignal: AbortSignal.timeout(CALL_TIMEOUT_MS) });
    } catch (error) {
      if (raw && (isConflict(error) || (error as Error).name === 'NoSuchKey' || httpStatus(error) === 404)) throw error;
      if ((error as Error).name === 'ObjectLockConfigurationNotFoundError') throw error;
      if ((error as Error).name === 'AbortError' || (error as Error).name === 'TimeoutError') {
        throw new ConfigError(
          `evidence store ${uri}: S3 did not answer within ${CALL_TIMEOUT_MS / 1000} s`,
          'check the network and AWS_ENDPOINT_URL',
        );
      }
      throw explainS3Error(error, { uri, bucket: this.#bucket, endpoint: customEndpoint() });
    }
  }

  #uriOf(sub: string): string {
    return `s3://${this.#bucket}/${this.#prefix}${sub}`;
  }
}

/**
 * Opens the evidence store at `s3://bucket/prefix`. The URI and retention are checked here (usage errors);
 * the bucket is not contacted until {@link EvidenceStore.check} or the first read.
 *
 * @example
 * const store = await openEvidenceStore('s3://audit-evidence/restore-drill/', { retention: '400d' });
 */
export async function openEvidenceStore(uri: string, options: EvidenceStoreOptions = {}): Promise<EvidenceStore> {
  if (!/^s3:\/\/[^/]+/.test(uri)) {
    throw new ConfigError(`not an evidence store: ${uri}`, 'write --evidence s3://BUCKET/PREFIX');
  }
  const retentionSeconds =
    options.retention === undefined ? null : parseDuration(options.retention, '--evidence-retention');
  if (retentionSeconds !== null && retentionSeconds < 86400) {
    throw new ConfigError(
      `--evidence-retention ${options.retention} is shorter than a day`,
      'S3 Object Lock retains for whole days at least; e.g. 400d',
    );
  }
  return new EvidenceStore(uri, options.client ?? (await createS3Client()), retentionSeconds);
}

function parseEntry(text: string, where: string): StoreLedgerEntry {
  try {
    const value = JSON.parse(text) as Partial<StoreLedgerEntry>;
    if (typeof value.position === 'number' && typeof value.digest === 'string' && typeof value.file === 'string') {
      return {
        position: value.position,
        digest: value.digest,
        file: value.file,
        drill: String(value.drill ?? ''),
        finishedAt: String(value.finishedAt ?? ''),
      };
    }
  } catch {
    // reported below
  }
  throw new ConfigError(
    `evidence store: ${where} is not a ledger entry`,
    'it was edited or written by something else; compare it with the reports',
  );
}

function isConflict(error: unknown): boolean {
  // 412 PreconditionFailed: the key exists. 409 ConditionalRequestConflict: another conditional write to it is in flight.
  const status = httpStatus(error);
  return (
    status === 412 ||
    status === 409 ||
    (error as Error).name === 'PreconditionFailed' ||
    (error as Error).name === 'ConditionalRequestConflict'
  );
}

function httpStatus(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
}

function pad(position: number): string {
  return String(position).padStart(POSITION_DIGITS, '0');
}

async function writeAtomically(path: string, bytes: Buffer): Promise<void> {
  // Hidden while being written, so readers of the directory (and the ledger) never see half a report.
  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await writeFile(temp, bytes, { mode: 0o644 });
    await rename(temp, path);
  } finally {
    await rm(temp, { force: true });
  }
}
