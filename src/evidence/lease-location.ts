import { join } from 'node:path';
import { directoryLeaseObjects } from './lease-directory.ts';
import type { LeaseObjects } from './lease-pool.ts';

/**
 * The lease pool `pool` at `location`: the `leases/<pool>/` prefix of the evidence store `s3://bucket/prefix`,
 * or the folder `<location>/<pool>` of a shared directory. `close()` releases the S3 client.
 *
 * @example
 * const { objects, close } = await openLeaseObjects('s3://evidence/fleet/', 'rds-instances');
 */
export async function openLeaseObjects(
  location: string,
  pool: string,
): Promise<{ readonly objects: LeaseObjects; readonly close: () => void }> {
  if (!location.startsWith('s3://')) return { objects: directoryLeaseObjects(join(location, pool)), close() {} };
  // Loaded only for a store: the AWS SDK takes a while to load.
  const { openEvidenceStore } = await import('./evidence-store.ts');
  const store = await openEvidenceStore(location);
  return { objects: store.leaseObjects(pool), close: () => store.destroy() };
}
