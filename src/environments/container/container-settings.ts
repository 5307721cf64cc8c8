import { SERVER_LOG_SETTINGS } from '../local/sandbox-violations.ts';
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
 * memory sized by the engine's CPUs and memory, errors logged for the restore sandbox check. The server listens on no TCP address, only on Unix sockets
 * in `socketDirs` at `port` (the port is only part of the socket's file name).
 *
 * @example
 * containerRestoreSettings({ socketDirs: ['/var/run/postgresql'], port: 5433 }, { cpus: 8, memoryBytes: 16 * 2 ** 30 }).fsync; // false
 */
export function containerRestoreSettings(
  where: { readonly socketDirs: readonly string[]; readonly port: number },
  resources: ContainerResources,
): Record<string, SettingValue> {
  const cores = Math.max(1, resources.cpus);
  const mb = Math.max(256, Math.floor(resources.memoryBytes / 1024 / 1024));
  return {
    listen_addresses: '',
    unix_socket_directories: where.socketDirs.join(','),
    port: where.port,
    ...restoreTuningFor(cores, mb),
    // Errors with their statement and CONTEXT on stderr, the container's log: where the restore sandbox check looks.
    ...SERVER_LOG_SETTINGS,
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
  return Object.entries(settings).flatMap(([name, value]) => [
    '-c',
    `${name}=${typeof value === 'boolean' ? (value ? 'on' : 'off') : String(value)}`,
  ]);
}
