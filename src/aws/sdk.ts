/**
 * The AWS SDK clients, loaded on first use. Importing one costs 0.2–0.4 s of CPU (S3, RDS, KMS, Secrets
 * Manager together ≈ 1 s), which every `restore-drill` start, drill file and worker would otherwise pay
 * even when the drill never calls AWS. Types are imported statically (`import type`); values through these.
 *
 * @example
 * const { GetObjectCommand } = await s3Sdk();
 * await client.send(new GetObjectCommand({ Bucket: 'backups', Key: 'shop.dump' }));
 */
export const s3Sdk = () => import('@aws-sdk/client-s3');

/** The RDS client module, loaded on first use ({@link s3Sdk} says why). */
export const rdsSdk = () => import('@aws-sdk/client-rds');

/** The KMS client module, loaded on first use ({@link s3Sdk} says why). */
export const kmsSdk = () => import('@aws-sdk/client-kms');

/** The Secrets Manager client module, loaded on first use ({@link s3Sdk} says why). */
export const secretsManagerSdk = () => import('@aws-sdk/client-secrets-manager');
