// Bundles the CLI into plain JavaScript (build/cli/), so `restore-drill` starts without compiling ≈ 200
// TypeScript modules through tsx on every run: 0.25 s instead of 0.55 s (docs/performance.md). Runs on
// `npm install` / `npm ci` (the `prepare` script) and with `npm run build`. bin/restore-drill.js uses the
// bundle only while every source it was built from is unchanged, and otherwise runs the sources through tsx,
// so an edit never runs stale code.
//
//   tsx scripts/build-cli.ts [OUT_DIR]        default build/cli
import { build } from 'esbuild';
import { statSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BUNDLE_INPUTS_FILE, type BundleInput } from '../bin/cli-bundle.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Builds the bundle into `outDir` (replacing it whole, so a running CLI never sees half a bundle). */
export async function buildCli(outDir = join(root, 'build', 'cli')): Promise<{ outDir: string; inputs: number }> {
  const building = `${outDir}.building-${process.pid}`;
  await rm(building, { recursive: true, force: true });
  const result = await build({
    absWorkingDir: root,
    entryPoints: ['src/cli/main.ts'],
    outdir: building,
    bundle: true,
    splitting: true, // the AWS SDK, testcontainers and Vitest stay lazily loaded, each in its own chunk
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external', // dependencies load from node_modules, as with tsx
    metafile: true,
    logLevel: 'warning',
  });
  const inputs: BundleInput[] = Object.keys(result.metafile.inputs)
    .filter((path) => !path.startsWith('node_modules/'))
    .map((path) => {
      const stat = statSync(join(root, path)); // metafile paths are relative to absWorkingDir
      return { path, size: stat.size, mtimeMs: stat.mtimeMs };
    });
  await writeFile(join(building, BUNDLE_INPUTS_FILE), `${JSON.stringify(inputs, null, 1)}\n`);
  await mkdir(dirname(outDir), { recursive: true });
  await rm(outDir, { recursive: true, force: true });
  await rename(building, outDir);
  return { outDir, inputs: inputs.length };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { outDir, inputs } = await buildCli(process.argv[2] ? resolve(process.argv[2]) : undefined);
  process.stdout.write(`build: bundled ${inputs} sources into ${relative(process.cwd(), outDir) || outDir}\n`);
}
