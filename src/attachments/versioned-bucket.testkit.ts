import { CreateBucketCommand, PutBucketVersioningCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { startMotoServer, type MotoServer } from '../testing/moto-server.ts';

/** A moto S3 with a client, for attachment tests. */
export interface VersionedBuckets extends AsyncDisposable {
  readonly moto: MotoServer;
  readonly s3: S3Client;
  /** Creates a bucket, versioned unless `versioned` is false. */
  bucket(name: string, versioned?: boolean): Promise<void>;
  /** Puts an object and returns its version id; `sha256` asks S3 to store a SHA-256 checksum with it. */
  put(bucket: string, key: string, body: string, sha256?: boolean): Promise<string>;
  stop(): Promise<void>;
}

/**
 * Starts moto and returns helpers to build a bucket history.
 *
 * @example
 * await using buckets = await startVersionedBuckets();
 * await buckets.bucket('attachments');
 */
export async function startVersionedBuckets(): Promise<VersionedBuckets> {
  const moto = await startMotoServer();
  const s3 = new S3Client({
    endpoint: moto.endpoint,
    forcePathStyle: true,
    region: 'us-east-1',
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  });
  return {
    moto,
    s3,
    async bucket(name, versioned = true) {
      await s3.send(new CreateBucketCommand({ Bucket: name }));
      if (versioned)
        await s3.send(new PutBucketVersioningCommand({ Bucket: name, VersioningConfiguration: { Status: 'Enabled' } }));
    },
    async put(bucket, key, body, sha256 = false) {
      const out = await s3.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: key,
          Body: body,
          ...(sha256 ? { ChecksumAlgorithm: 'SHA256' as const } : {}),
        }),
      );
      return out.VersionId!;
    },
    stop: () => moto.stop(),
    [Symbol.asyncDispose]: () => moto.stop(),
  };
}

/**
 * Waits into the next second (plus a margin). S3 times are whole seconds: a point in time T taken between two
 * such waits has a second of its own, so writes before and after it fall on either side. (Ordering, not a
 * timing assertion.)
 *
 * @example
 * await nextSecond(); const t = new Date(); await nextSecond();
 */
export async function nextSecond(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 1050 - (Date.now() % 1000)));
}
