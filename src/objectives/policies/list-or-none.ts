import { ConfigError } from '../../errors.ts';
import { NoSnapshotsError } from '../../aws/rds-errors.ts';
import type { Source, SourceContext } from '../../sources/source.ts';
import type { RecoveryPoint } from '../../model/recovery-point.ts';

/**
 * Lists a source of copies for a policy: "nothing found there" (an empty RDS listing, no dumps under an
 * S3 prefix) is a finding the policy reports, not an error, so it becomes an empty list.
 *
 * @example
 * const copies = await listOrNone(rdsSnapshotSource({ dbInstanceIdentifier: 'shop', region: 'eu-central-1' }), context);
 */
export async function listOrNone(source: Source, context: SourceContext): Promise<RecoveryPoint[]> {
  try {
    return await source.list(context);
  } catch (error) {
    // An empty RDS listing, or another source's "no dumps" (s3-dump, file): no copies there.
    if (
      error instanceof NoSnapshotsError ||
      (error instanceof ConfigError && /^no (dumps?|recovery points)\b/.test(error.message))
    )
      return [];
    throw error;
  }
}
