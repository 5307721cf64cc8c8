import { execFile } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { BUNDLE_INPUTS_FILE, freshBundle } from '../bin/cli-bundle.js';
import { buildCli } from './build-cli.ts';

const root = join(import.meta.dirname, '..');
// A folder of its own: the project's build/cli may be in use by the CLI processes other test files start.
const outDir = join(root, 'build', `cli-test-${process.pid}`);
afterAll(() => rm(outDir, { recursive: true, force: true }));

let built: { outDir: string; inputs: number };
beforeAll(async () => {
  built = await buildCli(outDir);
});

test('the bundle lists the sources it was built from and runs the CLI without tsx', async () => {
  const inputs = JSON.parse(await readFile(join(outDir, BUNDLE_INPUTS_FILE), 'utf8')) as Array<{ path: string }>;
  expect(inputs.length).toBe(built.inputs);
  expect(inputs.map((input) => input.path)).toEqual(
    expect.arrayContaining(['src/cli/main.ts', 'src/drill/run-drill.ts', 'package.json']),
  );
  expect(inputs.some((input) => input.path.startsWith('node_modules/'))).toBe(false);

  const entry = freshBundle(outDir);
  expect(entry).toBe(join(outDir, 'main.js'));
  // Plain node, no loader: the bundle is JavaScript and finds its dependencies in node_modules.
  const script = `const { main } = await import(${JSON.stringify(entry)}); process.exitCode = await main(['--version']);`;
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], { cwd: root });
  const { version } = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { version: string };
  expect(stdout.trim()).toBe(version);
});

test('a bundle whose sources changed since it was built, or that is not there, is not used', async () => {
  const file = join(outDir, BUNDLE_INPUTS_FILE);
  const original = await readFile(file, 'utf8');
  const inputs = JSON.parse(original) as Array<{ path: string; size: number; mtimeMs: number }>;
  try {
    // As after an edit of one source: its size or modification time is no longer what the bundle recorded.
    await writeFile(
      file,
      JSON.stringify(inputs.map((input, i) => (i === 3 ? { ...input, mtimeMs: input.mtimeMs - 1000 } : input))),
    );
    expect(freshBundle(outDir)).toBeNull();
    await writeFile(
      file,
      JSON.stringify(inputs.map((input, i) => (i === 0 ? { ...input, size: input.size + 1 } : input))),
    );
    expect(freshBundle(outDir)).toBeNull();
    // A source deleted since.
    await writeFile(file, JSON.stringify([...inputs, { path: 'src/no-such-file.ts', size: 1, mtimeMs: 1 }]));
    expect(freshBundle(outDir)).toBeNull();
  } finally {
    await writeFile(file, original);
  }
  expect(freshBundle(outDir)).toBe(join(outDir, 'main.js'));
  expect(freshBundle(join(outDir, 'missing'))).toBeNull();
});
