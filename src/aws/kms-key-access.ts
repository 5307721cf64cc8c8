import type { KMSClient } from '@aws-sdk/client-kms';
import { kmsSdk } from './sdk.ts';
import { ConfigError } from '../errors.ts';
import type { CheckResult } from '../model/report.ts';
import { createKmsClient, parseKmsKeyRef } from './kms-client.ts';
import { explainKmsError, type KmsErrorHints } from './kms-errors.ts';

/** What {@link checkKeyAccess} checks: one encryption key, where it is, and what it protects. */
export interface KeyAccessTarget {
  /** The key as the recovery point names it: a key ARN (an RDS snapshot's KmsKeyId), a key id or an alias. */
  readonly kmsKeyId: string;
  /** The region of the recovery point, where its key must be; an ARN's own region wins. */
  readonly region: string;
  /** What the key protects, for messages: `RDS snapshot shop-dr-1`. */
  readonly what: string;
  /** A ready-made KMS client for that region; default: one from the standard AWS configuration. */
  readonly client?: KMSClient;
  readonly signal?: AbortSignal;
}

const DECRYPT_HINTS: KmsErrorHints = {
  key: 'the copy names a key that this account cannot see: re-copy it with a key in this region, or share the key',
  permission:
    "grant the drill's role kms:DescribeKey and kms:CreateGrant on the key (iam/restore-drill-policy.json); for a copy shared from another account, the key's policy there must allow this account too",
  usage: 'restore from a copy encrypted with a symmetric ENCRYPT_DECRYPT key',
  usageName: 'an ENCRYPT_DECRYPT key',
  purpose: 'decrypt',
};

const STATE_HINTS: Record<string, string> = {
  Disabled: 'enable the key (kms:EnableKey), or copy the snapshot again with a usable key',
  PendingDeletion:
    'cancel the key deletion now (kms:CancelKeyDeletion): once the key is deleted, every copy encrypted with it is lost',
  PendingReplicaDeletion:
    'cancel the replica key deletion (kms:CancelKeyDeletion), or copy the snapshot again with another key',
  PendingImport: 'import the key material, or copy the snapshot again with another key',
  Unavailable: 'reconnect the key store of this key, or copy the snapshot again with another key',
};

/**
 * The key-access check: before a drill restores an encrypted recovery point — typically a copy in another
 * region or account — the key it is encrypted with is described there (`kms:DescribeKey`) and must be
 * `Enabled` and an `ENCRYPT_DECRYPT` key. "The copy exists but nobody can decrypt it" then fails before
 * anything is created, with one line naming the key, its state (or the permission the drill lacks) and what
 * to do. The other permission a restore needs, `kms:CreateGrant`, can only be exercised by RDS itself: a
 * restore RDS refuses for it is named by `explainRdsError`. Returns the passed check for the report.
 *
 * @example
 * const check = await checkKeyAccess({ kmsKeyId: snapshot.kmsKeyId, region: 'eu-central-1', what: 'RDS snapshot shop-dr-1' });
 * // { name: 'key access arn:aws:kms:eu-central-1:…', status: 'passed', actual: 'Enabled, ENCRYPT_DECRYPT (CUSTOMER)', … }
 */
export async function checkKeyAccess(target: KeyAccessTarget): Promise<CheckResult> {
  const { DescribeKeyCommand } = await kmsSdk();
  const ref = parseKmsKeyRef(target.kmsKeyId);
  const region = ref.region ?? target.region;
  const kms = target.client ?? (await createKmsClient({ ...ref, region }));
  try {
    const answer = await kms
      .send(new DescribeKeyCommand({ KeyId: ref.keyId }), { abortSignal: target.signal })
      .catch((error: unknown) => {
        throw explainKmsError(error, ref.keyId, 'kms:DescribeKey', DECRYPT_HINTS);
      });
    const key = answer.KeyMetadata;
    const arn = key?.Arn ?? ref.keyId;
    const state = key?.KeyState ?? (key?.Enabled ? 'Enabled' : 'unknown');
    if (state !== 'Enabled') {
      const deletion = key?.DeletionDate ? `, deletion scheduled for ${key.DeletionDate.toISOString()}` : '';
      throw new ConfigError(
        `KMS key ${arn} of ${target.what} in ${region} is ${state}${deletion}: nobody can decrypt the recovery point while it is`,
        STATE_HINTS[state] ?? 'wait until the key is Enabled, or copy the snapshot again with another key',
      );
    }
    if (key?.KeyUsage && key.KeyUsage !== 'ENCRYPT_DECRYPT') {
      throw new ConfigError(
        `KMS key ${arn} of ${target.what} in ${region} is a ${key.KeyUsage} key, not ENCRYPT_DECRYPT`,
        DECRYPT_HINTS.usage,
      );
    }
    return {
      name: `key access ${arn}`,
      status: 'passed',
      expected: `the key of ${target.what} is Enabled and describable by the drill (kms:DescribeKey)`,
      actual: `${state}, ${key?.KeyUsage ?? 'ENCRYPT_DECRYPT'}${key?.KeyManager ? ` (${key.KeyManager})` : ''}`,
      detail: `described in ${region}; kms:CreateGrant is exercised by the restore itself`,
    };
  } finally {
    if (!target.client) kms.destroy();
  }
}
