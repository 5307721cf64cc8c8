import { rdsSnapshotSource } from '../../sources/rds/rds-snapshot-source.ts';
import type { RecoveryPoint } from '../../model/recovery-point.ts';
import type { PolicyContext } from '../policy.ts';

/** The fixed "now" of the policy tests. */
export const NOW = new Date('2026-11-23T12:00:00Z');

/** A recovery point `seconds` before {@link NOW}. */
export const pointAgo = (id: string, seconds: number): RecoveryPoint => ({
  source: 'test',
  id,
  createdAt: new Date(NOW.getTime() - seconds * 1000),
  createdAtBasis: 'test',
  facts: {},
});

/** What a policy sees when it evaluates `points` at `at`; the source is never called by these policies. */
export const policyContext = (points: RecoveryPoint[], at = NOW): PolicyContext => ({
  points,
  now: at,
  source: rdsSnapshotSource({ dbInstanceIdentifier: 'x' }),
  sourceContext: { workDir: '/nonexistent', log: () => {} },
});
