import { resolve } from 'node:path';
import { Option } from 'commander';
import type { InstanceLimit } from '../environments/environment.ts';
import { instanceLimit, withEnvironmentDefaults, type DrillSettings } from '../drill/drill-settings.ts';

/** The flags of the RDS instance cap, shared by `run` and `check`. */
export interface InstanceLimitFlags {
  readonly rdsLimit?: string;
  readonly leaseStore?: string;
}

/** `--rds-limit K`, shared by `run` and `check`. */
export function rdsLimitOption(): Option {
  return new Option(
    '--rds-limit <K>',
    'at most K temporary RDS instances at once across every shard (leases in the evidence store or --lease-store); default $RESTORE_DRILL_RDS_LIMIT',
  );
}

/** `--lease-store`, shared by `run` and `check`. */
export function leaseStoreOption(): Option {
  return new Option(
    '--lease-store <s3://bucket/prefix|dir>',
    'with --rds-limit: where the leases are kept, when not in the --evidence store; default $RESTORE_DRILL_LEASE_STORE',
  );
}

/**
 * The run's settings with the cap's flags added (a lease directory made absolute, so every worker finds it),
 * and the cap they ask for, checked against the user's environment too: a bad limit, or one with nowhere
 * every shard can see, is a usage error before any drill starts. Undefined limit: no cap.
 *
 * @example
 * const { settings, limit } = withInstanceLimit(evidenceSettings, { rdsLimit: '4', leaseStore: '/shared/leases' });
 */
export function withInstanceLimit(
  settings: DrillSettings,
  flags: InstanceLimitFlags,
): { readonly settings: DrillSettings; readonly limit: InstanceLimit | undefined } {
  const withFlags: DrillSettings = {
    ...settings,
    ...(flags.rdsLimit === undefined ? {} : { rdsLimit: flags.rdsLimit }),
    ...(flags.leaseStore === undefined
      ? {}
      : { leaseStore: flags.leaseStore.startsWith('s3://') ? flags.leaseStore : resolve(flags.leaseStore) }),
  };
  return { settings: withFlags, limit: instanceLimit(withEnvironmentDefaults(withFlags)) };
}
