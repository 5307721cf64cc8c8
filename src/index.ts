/**
 * restore-drill's public API: everything a drill author imports.
 *
 * @example
 * import { drill, fileSource, localPostgres } from 'restore-drill';
 */
export { drill, type DrillMeta } from './drill/drill.ts';
export type { DrillOptions } from './drill/drill-options.ts';
export { runDrill, type DrillBody, type DrillContext, type DrillResult, type DrillRun } from './drill/run-drill.ts';
export type { Environment, EnvironmentContext, StartedEnvironment, RestoreOptions } from './environments/environment.ts';
export { localPostgres, type LocalPostgresConfig } from './environments/local-postgres.ts';
export type { LocalDump, PickStrategy, RecoveryPoint, Restorable, Source, SourceContext } from './sources/source.ts';
export { fileSource } from './sources/file-source.ts';
export { s3DumpSource } from './sources/s3-dump-source.ts';
export type { Objectives } from './objectives/objectives.ts';
export type { CheckResult, DrillReport, DrillStatus } from './report/report-model.ts';
export { ConfigError, CommandFailedError, InterruptedError, RestoreDrillError } from './errors.ts';
