import { restoreTuningFor } from '../restore-tuning.ts';

/** A PostgreSQL server setting's value, as in `postgres -c name=value`. */
export type SettingValue = string | number | boolean;

/** What the restore-speed defaults are sized by: the container engine's resources. */
export interface ContainerResources {
  readonly cpus: number;
  readonly memoryBytes: number;
}

/**
 * Server settings for a disposable container, tuned for restore speed like the local cluster: no
 * fsync, minimal WAL, no autovacuum (the container is thrown away, so crash safety only costs time), and
 * memory sized by the engine's CPUs and memory. `listen` and `port` say where the server accepts
 * connections (127.0.0.1 and a free port on the host's network; every address and 5432 on a bridge).
 *
 * @example
 * containerRestoreSettings({ listen: '127.0.0.1', port: 54321 }, { cpus: 8, memoryBytes: 16 * 2 ** 30 }).fsync; // false
 */
export function containerRestoreSettings(
  where: { readonly listen: string; readonly port: number },
  resources: ContainerResources,
): Record<string, SettingValue> {
  const cores = Math.max(1, resources.cpus);
  const mb = Math.max(256, Math.floor(resources.memoryBytes / 1024 / 1024));
  return {
    listen_addresses: where.listen,
    port: where.port,
    ...restoreTuningFor(cores, mb),
    log_min_messages: 'warning',
    password_encryption: 'scram-sha-256',
  };
}

/**
 * `postgres` command-line arguments for settings: `['-c', 'fsync=off', …]`. Each value is one argument
 * (no shell), so only PostgreSQL's own syntax applies.
 *
 * @example
 * settingsArgs({ fsync: false, port: 5432 }); // ['-c', 'fsync=off', '-c', 'port=5432']
 */
export function settingsArgs(settings: Readonly<Record<string, SettingValue>>): string[] {
  return Object.entries(settings).flatMap(([name, value]) => ['-c', `${name}=${typeof value === 'boolean' ? (value ? 'on' : 'off') : String(value)}`]);
}
