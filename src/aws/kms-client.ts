import type { KMSClient } from '@aws-sdk/client-kms';
import { kmsSdk } from './sdk.ts';
import { ConfigError } from '../errors.ts';
import { awsTimeouts } from './aws-timeouts.ts';

const ARN = /^arn:aws[a-z-]*:kms:([a-z0-9-]+):\d{12}:(key|alias)\/\S+$/;

/** A parsed `kms://…` reference: what KMS calls `KeyId`, and the region when the reference is an ARN. */
export interface KmsKeyRef {
  readonly keyId: string;
  readonly region?: string;
}

/**
 * Parses `kms://<key id | alias/name | key ARN | alias ARN>`; the `kms://` prefix is optional.
 *
 * @example
 * parseKmsKeyRef('kms://arn:aws:kms:eu-west-1:111122223333:alias/drills'); // { keyId: 'arn:…', region: 'eu-west-1' }
 */
export function parseKmsKeyRef(spec: string): KmsKeyRef {
  const keyId = spec.trim().replace(/^kms:\/\//, '');
  if (!keyId || /\s/.test(keyId) || (keyId.startsWith('arn:') && !ARN.test(keyId))) {
    throw new ConfigError(
      `"${spec.trim()}" is not a KMS key reference`,
      'use kms://<key id>, kms://alias/<name> or kms://arn:aws:kms:<region>:<account>:key/<id>',
    );
  }
  const region = ARN.exec(keyId)?.[1];
  return region ? { keyId, region } : { keyId };
}

/**
 * A KMS client from the SDK's standard configuration (credential chain, AWS_REGION, AWS_ENDPOINT_URL /
 * AWS_ENDPOINT_URL_KMS) and restore-drill's timeouts ({@link awsTimeouts}); an ARN's region wins. No region anywhere is a `ConfigError`: KMS keys are
 * regional, so guessing one would only turn into "key not found".
 */
export async function createKmsClient(ref: KmsKeyRef): Promise<KMSClient> {
  const { KMSClient } = await kmsSdk();
  // Timeouts (RESTORE_DRILL_AWS_TIMEOUT): a KMS endpoint that accepts and stays silent must not hang a drill.
  const client = new KMSClient({ requestHandler: awsTimeouts(), ...(ref.region ? { region: ref.region } : {}) });
  try {
    if (await client.config.region()) return client;
  } catch {
    // "Region is missing"
  }
  client.destroy();
  throw new ConfigError(
    `no AWS region configured for KMS key ${ref.keyId}`,
    'set AWS_REGION, or use the key ARN (kms://arn:aws:kms:<region>:…)',
  );
}
