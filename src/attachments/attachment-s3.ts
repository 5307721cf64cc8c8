import type { S3Client } from '@aws-sdk/client-s3';
import { createS3Client, customEndpoint, type S3ClientOptions } from '../aws/s3-client.ts';
import { explainS3Error } from '../aws/s3-errors.ts';
import { s3Uri } from '../sources/s3/s3-uri.ts';

/** How the attachment code reaches one bucket: a lazily made client and calls whose errors read as one line. */
export interface AttachmentS3 {
  readonly bucket: string;
  client(): Promise<S3Client>;
  /** Runs `work`; what a user can fix (bucket, credentials, region, archived object) becomes a ConfigError about `key`. */
  call<T>(key: string, work: (client: S3Client) => Promise<T>): Promise<T>;
}

/**
 * The S3 access of one bucket: `options.client`, else {@link createS3Client} (standard AWS configuration).
 *
 * @example
 * const s3 = attachmentS3('acme-attachments', {});
 * await s3.call('', (c) => c.send(new GetBucketVersioningCommand({ Bucket: s3.bucket })));
 */
export function attachmentS3(bucket: string, options: S3ClientOptions & { readonly client?: S3Client }): AttachmentS3 {
  let made: Promise<S3Client> | undefined;
  const client = () => (made ??= options.client ? Promise.resolve(options.client) : createS3Client(options));
  return {
    bucket,
    client,
    async call(key, work) {
      try {
        return await work(await client());
      } catch (error) {
        throw explainS3Error(error, {
          uri: s3Uri(bucket, key),
          bucket,
          endpoint: options.client ? undefined : customEndpoint(options),
        });
      }
    },
  };
}
