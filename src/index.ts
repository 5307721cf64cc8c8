/**
 * restore-drill's public API: everything a drill author imports.
 *
 * @example
 * import { drill, fileSource, localPostgres, containerPostgres } from 'restore-drill';
 */
export { drill } from './drill/drill.ts';
export type { DrillMeta } from './model/drill-meta.ts';
export type { DrillOptions } from './drill/drill-options.ts';
export type { DumpedWithout } from './verify/compare-objects.ts';
export { runDrill, type DrillBody, type DrillContext, type DrillResult, type DrillRun } from './drill/run-drill.ts';
export type { Environment, EnvironmentContext, StartedEnvironment, RestoreOptions } from './environments/environment.ts';
export { localPostgres, type LocalPostgresConfig } from './environments/local/local-postgres.ts';
export { containerPostgres, type ContainerPostgresConfig } from './environments/container/container-postgres.ts';
export { ContainerRuntimeUnavailableError } from './environments/container/docker-runtime.ts';
export type { LocalDump, RecoveryPoint, Restorable } from './model/recovery-point.ts';
export type { PickStrategy, Source, SourceContext } from './sources/source.ts';
export { fileSource } from './sources/file/file-source.ts';
export { s3DumpSource } from './sources/s3/s3-dump-source.ts';
export { rdsSnapshotSource, type RdsSnapshotRestorable, type RdsSnapshotSource, type RdsSnapshotSourceOptions } from './sources/rds/rds-snapshot-source.ts';
export { rdsPointInTime, type RdsPointInTimeOptions, type RdsPointInTimeRestorable } from './sources/rds/rds-point-in-time.ts';
export { rdsInstance, type RdsInstanceOptions } from './environments/rds/rds-instance.ts';
export type { RdsCredentials } from './environments/rds/rds-credentials.ts';
export type { Policy, PolicyContext } from './objectives/policy.ts';
export { freshnessPolicy, type FreshnessPolicyOptions } from './objectives/policies/freshness-policy.ts';
export { coveragePolicy, type CoverageTier } from './objectives/policies/coverage-policy.ts';
export { retentionPolicy, type RetentionPolicyOptions } from './objectives/policies/retention-policy.ts';
export { encryptionPolicy, type EncryptionPolicyOptions } from './objectives/policies/encryption-policy.ts';
export { offsiteCopyPolicy, type OffsiteCopyPolicyOptions } from './objectives/policies/offsite-copy-policy.ts';
export { s3VersioningPolicy, type S3VersioningPolicyOptions } from './objectives/policies/s3-versioning-policy.ts';
export type { Objectives } from './objectives/objectives.ts';
export type { CheckResult, DrillReport, DrillStatus } from './model/report.ts';
export { ConfigError, CommandFailedError, InterruptedError, RestoreDrillError } from './errors.ts';
export { defineFleet, type Fleet } from './fleet/inventory.ts';
export type { FleetDatabase, FleetInventoryInput } from './fleet/inventory-schema.ts';
