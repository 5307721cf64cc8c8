import { spawn } from 'node:child_process';
import { BIN } from './run-cli.ts';

/**
 * Runs the real `restore-drill` command on a pseudo-terminal (util-linux `script`), as a person at a terminal
 * would: stdout and stderr are a TTY, so progress bars are drawn. Returns the exit code and everything the
 * terminal received (both streams, with their control sequences).
 *
 * @example
 * const { code, output } = await runCliOnTerminal(['check', '--dump', dump]);
 * expect(output).toMatch(/█+ restore 7\/7 tables/);
 */
export function runCliOnTerminal(
  args: readonly string[],
  options: { cwd?: string } = {},
): Promise<{ code: number | null; output: string }> {
  const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qec', [process.execPath, BIN, ...args].map(quote).join(' '), '/dev/null'], {
      cwd: options.cwd,
      env: { ...process.env, NODE_NO_WARNINGS: '1', TERM: 'xterm', COLUMNS: '160' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}
