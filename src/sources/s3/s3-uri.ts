import { ConfigError } from '../../errors.ts';

/** A bucket and a key (or key prefix) parsed from an `s3://` URI. */
export interface S3Location {
  readonly bucket: string;
  /** The key or prefix after the bucket, without the leading `/`; `''` for the whole bucket. */
  readonly key: string;
}

/**
 * Parses `s3://bucket/key` or `s3://bucket/prefix/`.
 *
 * @example
 * parseS3Uri('s3://backups/shop/2026-11-23.dump'); // { bucket: 'backups', key: 'shop/2026-11-23.dump' }
 */
export function parseS3Uri(uri: string): S3Location {
  const match = /^s3:\/\/([^/]+)(?:\/(.*))?$/.exec(uri);
  if (!match) {
    throw new ConfigError(
      `not an S3 URI: ${uri}`,
      'write s3://BUCKET/KEY for one dump or s3://BUCKET/PREFIX/ for a folder of dumps',
    );
  }
  return { bucket: match[1]!, key: match[2] ?? '' };
}

/**
 * The `s3://` URI of a bucket and key.
 *
 * @example
 * s3Uri('backups', 'shop/'); // 's3://backups/shop/'
 */
export function s3Uri(bucket: string, key: string): string {
  return `s3://${bucket}/${key}`;
}
