/** The environment variable that may hold `--evidence s3://bucket/prefix`. */
export const EVIDENCE_ENV = 'RESTORE_DRILL_EVIDENCE';
/** The environment variable that may hold `--evidence-retention`, e.g. `400d`. */
export const EVIDENCE_RETENTION_ENV = 'RESTORE_DRILL_EVIDENCE_RETENTION';
/** The environment variable with the default cadence of drills that declare none (`run --cadence`), e.g. `1mo`. */
export const CADENCE_ENV = 'RESTORE_DRILL_CADENCE';
/** The environment variable with `run --rds-limit K`: at most K temporary RDS instances at once across all shards. */
export const RDS_LIMIT_ENV = 'RESTORE_DRILL_RDS_LIMIT';
/** The environment variable with `run --lease-store`: where the RDS leases are kept when not in the evidence store. */
export const LEASE_STORE_ENV = 'RESTORE_DRILL_LEASE_STORE';
