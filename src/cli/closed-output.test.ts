// `restore-drill … | head`: the reader goes away, stdout writes fail with EPIPE; the command must neither
// print a stack trace nor change its exit code.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { BIN, hasStackTrace, NO_ENGINE } from '../testing/run-cli.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'closed-output-test-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Runs the CLI with its stdout pipe already closed by the reader, as `| head` does once it has its lines. */
function runWithClosedStdout(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, TMPDIR: dir, DOCKER_HOST: NO_ENGINE, NODE_NO_WARNINGS: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

test.each([[['cleanup']], [['--help']], [['history', '/nonexistent-reports']]])(
  'restore-drill %j | head',
  async (args) => {
    const out = await runWithClosedStdout(args);
    expect(hasStackTrace(out.stderr), out.stderr).toBe(false);
    expect(out.stderr).not.toMatch(/EPIPE|Unhandled/);
    expect(out.code).toBe(args[0] === 'history' ? 2 : 0);
  },
);
