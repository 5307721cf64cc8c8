import type { CheckResult } from '../../model/report.ts';
import type { RecoveryPoint } from '../../model/recovery-point.ts';
import type { Policy } from '../policy.ts';
import { someIds } from './point-list.ts';

/** Options of {@link encryptionPolicy}. */
export interface EncryptionPolicyOptions {
  /** The KMS key (ARN or key id) every recovery point must be encrypted with; any of several when a list. */
  readonly kmsKeyId?: string | readonly string[];
}

/**
 * Encryption: every recovery point is encrypted at rest, optionally with a named KMS key. It reads the
 * facts sources record: `encrypted` (RDS snapshots) or `serverSideEncryption` (S3 objects), and `kmsKeyId`.
 * A key given as a key id matches the same key's ARN. Aliases are not resolved: name the key itself.
 *
 * @example
 * encryptionPolicy({ kmsKeyId: 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-…' });
 */
export function encryptionPolicy(options: EncryptionPolicyOptions = {}): Policy {
  const keys =
    options.kmsKeyId === undefined
      ? []
      : typeof options.kmsKeyId === 'string'
        ? [options.kmsKeyId]
        : [...options.kmsKeyId];
  const expected = `every recovery point encrypted${keys.length ? ` with ${keys.join(' or ')}` : ''}`;
  return {
    name: 'encryption',
    evaluate({ points }): CheckResult[] {
      const unencrypted = points.filter((p) => !isEncrypted(p));
      const wrongKey = keys.length
        ? points.filter((p) => isEncrypted(p) && !keys.some((k) => sameKey(k, p.facts.kmsKeyId)))
        : [];
      const good = points.length - unencrypted.length - wrongKey.length;
      const problems = [
        unencrypted.length ? `not encrypted: ${someIds(unencrypted)}` : '',
        wrongKey.length ? `other key: ${someIds(wrongKey)}` : '',
      ].filter(Boolean);
      return [
        {
          name: 'policy encryption',
          status: points.length > 0 && problems.length === 0 ? 'passed' : 'failed',
          expected,
          actual: points.length ? `${good} of ${points.length}` : 'no recovery points',
          ...(problems.length ? { detail: problems.join('; ') } : {}),
        },
      ];
    },
  };
}

function isEncrypted(point: RecoveryPoint): boolean {
  const { encrypted, serverSideEncryption } = point.facts;
  return (
    encrypted === true ||
    (typeof serverSideEncryption === 'string' &&
      serverSideEncryption !== '' &&
      serverSideEncryption.toLowerCase() !== 'none')
  );
}

/** `1234abcd-…` matches `arn:aws:kms:…:key/1234abcd-…`. */
function sameKey(wanted: string, actual: unknown): boolean {
  if (typeof actual !== 'string') return false;
  if (wanted === actual) return true;
  const id = (key: string) => /:key\/(.+)$/.exec(key)?.[1] ?? key;
  return id(wanted) === id(actual);
}
