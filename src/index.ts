/**
 * restore-drill's public API: everything a drill author imports.
 *
 * @example
 * import { drill, fileSource, localPostgres, containerPostgres } from 'restore-drill';
 */
export { drill } from './drill/drill.ts';
export type { DrillMeta } from './model/drill-meta.ts';
export type { DrillOptions, VerifyOptions } from './drill/drill-options.ts';
export type { DumpedWithout } from './verify/compare-objects.ts';
export {
  runDrill,
  type DrillBody,
  type DrillContext,
  type DrillResult,
  type DrillRun,
  type DrillSettings,
} from './drill/run-drill.ts';
export type {
  Environment,
  EnvironmentContext,
  InstanceLimit,
  StartedEnvironment,
  RestoreOptions,
} from './environments/environment.ts';
export { localPostgres, type LocalPostgresConfig } from './environments/local/local-postgres.ts';
export { containerPostgres, type ContainerPostgresConfig } from './environments/container/container-postgres.ts';
export { ContainerRuntimeUnavailableError } from './environments/container/docker-runtime.ts';
export type { LocalDump, RecoveryPoint, Restorable } from './model/recovery-point.ts';
export type { PickStrategy, Source, SourceContext } from './sources/source.ts';
export { fileSource } from './sources/file/file-source.ts';
export { s3DumpSource } from './sources/s3/s3-dump-source.ts';
export {
  rdsSnapshotSource,
  type RdsSnapshotRestorable,
  type RdsSnapshotSource,
  type RdsSnapshotSourceOptions,
} from './sources/rds/rds-snapshot-source.ts';
export {
  rdsPointInTime,
  type RdsPointInTimeOptions,
  type RdsPointInTimeRestorable,
} from './sources/rds/rds-point-in-time.ts';
export { rdsInstance, type RdsInstanceOptions } from './environments/rds/rds-instance.ts';
export type { RdsCredentials } from './environments/rds/rds-credentials.ts';
export type { Policy, PolicyContext } from './objectives/policy.ts';
export { freshnessPolicy, type FreshnessPolicyOptions } from './objectives/policies/freshness-policy.ts';
export { coveragePolicy, type CoverageTier } from './objectives/policies/coverage-policy.ts';
export {
  retentionPolicy,
  type RetentionClass,
  type RetentionPolicyOptions,
} from './objectives/policies/retention-policy.ts';
export { encryptionPolicy, type EncryptionPolicyOptions } from './objectives/policies/encryption-policy.ts';
export { offsiteCopyPolicy, type OffsiteCopyPolicyOptions } from './objectives/policies/offsite-copy-policy.ts';
export { s3VersioningPolicy, type S3VersioningPolicyOptions } from './objectives/policies/s3-versioning-policy.ts';
// Disaster-recovery drills: jurisdiction, cold archive, key access of copies.
export { residencyPolicy, type ResidencyPolicyOptions } from './objectives/policies/residency-policy.ts';
export { longTermPolicy, type LongTermPolicyOptions } from './objectives/policies/long-term-policy.ts';
export { standbyPolicy, type StandbyPolicyOptions } from './objectives/policies/standby-policy.ts';
export { RESIDENCY_DOMAINS, domainOfRegion, type ResidencyDomain } from './objectives/policies/residency-regions.ts';
export type { ArchiveOptions } from './sources/s3/archive-thaw.ts';
export { checkKeyAccess, type KeyAccessTarget } from './aws/kms-key-access.ts';
// Physical backups (pg_basebackup + WAL archive, pgBackRest) restored to a moment, and the WAL policy.
export type { RecoveryTarget, BaseBackupRestorable, PgBackRestRestorable } from './model/physical-backup.ts';
export { baseBackupSource, type BaseBackupSourceConfig } from './sources/basebackup/base-backup-source.ts';
export { pgBackRestSource, type PgBackRestSourceConfig } from './sources/pgbackrest/pgbackrest-source.ts';
export { barmanSource, type BarmanSourceConfig } from './sources/barman/barman-source.ts';
export { walContinuityPolicy, type WalContinuityPolicyOptions } from './objectives/policies/wal-continuity-policy.ts';
export type { Objectives } from './objectives/objectives.ts';
export type { BudgetCoverage, CheckResult, DrillReport, DrillStatus, VerificationCoverage } from './model/report.ts';
export { ConfigError, CommandFailedError, InterruptedError, RestoreDrillError } from './errors.ts';
// Attachments on versioned S3, and GDPR erasure replay
export {
  s3VersionedSource,
  type AttachmentSource,
  type S3VersionedSourceOptions,
} from './attachments/s3-versioned-source.ts';
export {
  restoreAttachments,
  type AttachmentRestore,
  type RestoreAttachmentsOptions,
} from './attachments/restore-attachments.ts';
export {
  attachmentsCheck,
  evaluateAttachmentsCheck,
  type AttachmentsCheck,
  type AttachmentsCheckOptions,
} from './attachments/attachments-check.ts';
export { readAttachmentManifest } from './attachments/manifest-store.ts';
export type { AttachmentsOption } from './attachments/verify-attachments.ts';
export type { AttachmentManifest } from './attachments/attachment-manifest.ts';
export {
  erasureReplay,
  runErasureReplay,
  type ErasureReplay,
  type ErasureReplayOptions,
} from './erasure/erasure-replay.ts';
export type { ErasureLedger, ErasureRequest } from './erasure/erasure-ledger.ts';
export { defineFleet, type Fleet } from './fleet/inventory.ts';
export type { FleetDatabase, FleetInventoryInput } from './fleet/inventory-schema.ts';
