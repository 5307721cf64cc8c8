import type { PgBinaries } from '../../postgres/pg-binaries.ts';
import { runSandboxed, type ServerSandbox } from './sandbox.ts';

/**
 * Runs one statement in single-user mode on `dataDir`, in `sandbox`: nothing listens, so nobody can connect
 * while it runs. Single-user mode reports a failed statement on its output but exits 0: that is an error here.
 *
 * @example
 * await singleUser(sandbox, bins, dataDir, 'alter role "restore_drill_superuser" password …', signal);
 */
export async function singleUser(
  sandbox: ServerSandbox,
  bins: PgBinaries,
  dataDir: string,
  statement: string,
  signal: AbortSignal | undefined,
): Promise<void> {
  const args = ['--single', '-F', '-D', dataDir, '-c', 'log_min_messages=warning', 'postgres'];
  const command = sandbox.command('server', bins.path('postgres'), args, { writable: [dataDir] });
  const output = await runSandboxed(command, {
    signal,
    input: `${statement};\n`,
  });
  const error = /(?:^|\n)\s*(?:ERROR|FATAL|PANIC):\s*(.*)/.exec(`${output.stdout}\n${output.stderr}`);
  if (error) throw new Error(`postgres --single: ${error[1]}`);
}
