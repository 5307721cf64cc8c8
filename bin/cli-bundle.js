// Which code `restore-drill` runs: in an installed package, the compiled library in dist/; in this
// repository, the bundle scripts/build-cli.ts made (plain JavaScript, fast to load) while every source it was
// built from is unchanged, the TypeScript sources through tsx otherwise.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The file in the bundle's folder listing its sources with their size and modification time. */
export const BUNDLE_INPUTS_FILE = 'inputs.json';

/**
 * @typedef {{ path: string, size: number, mtimeMs: number }} BundleInput
 *   A source the bundle was built from, relative to the project root.
 */

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/**
 * The bundle's entry file when it exists and every source listed in it has the size and modification time
 * it had at build time (an edit, a checkout or a deletion changes one); otherwise null.
 * @param {string} [bundleDir] default build/cli
 * @returns {string | null}
 */
export function freshBundle(bundleDir = join(ROOT, 'build', 'cli')) {
  let inputs;
  try {
    inputs = JSON.parse(readFileSync(join(bundleDir, BUNDLE_INPUTS_FILE), 'utf8'));
  } catch {
    return null; // not built
  }
  if (!Array.isArray(inputs) || inputs.length === 0) return null;
  for (const input of inputs) {
    const stat = statSync(join(ROOT, input.path), { throwIfNoEntry: false });
    if (!stat || stat.size !== input.size || stat.mtimeMs !== input.mtimeMs) return null;
  }
  return join(bundleDir, 'main.js');
}

let tsxRegistered = false;

/** Lets this process import the TypeScript sources: registers tsx's loader, once. */
export async function registerTsx() {
  if (tsxRegistered) return;
  tsxRegistered = true;
  (await import('tsx/esm/api')).register();
}

/**
 * The CLI's `main`: from the fresh bundle when there is one (unless `fromSources`), else from the sources
 * through tsx.
 * @param {{ fromSources?: boolean }} [options]
 * @returns {Promise<(argv: string[]) => Promise<number>>}
 */
export async function loadCli({ fromSources = false } = {}) {
  // An installed package ships the compiled library (dist/, made by `npm pack`) and no sources or tsx.
  const packaged = join(ROOT, 'dist', 'cli', 'main.js');
  if (!existsSync(join(ROOT, 'src', 'cli', 'main.ts')) && existsSync(packaged)) return (await import(packaged)).main;
  const bundle = fromSources ? null : freshBundle();
  if (bundle) return (await import(bundle)).main;
  await registerTsx();
  return (await import('../src/cli/main.ts')).main;
}
