/** The environment variable that may hold `--evidence s3://bucket/prefix`. */
export const EVIDENCE_ENV = 'RESTORE_DRILL_EVIDENCE';
/** The environment variable that may hold `--evidence-retention`, e.g. `400d`. */
export const EVIDENCE_RETENTION_ENV = 'RESTORE_DRILL_EVIDENCE_RETENTION';
