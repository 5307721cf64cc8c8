import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../errors.ts';

/**
 * Makes sure the temp dir (`TMPDIR`, else `/tmp`) exists and takes a new folder, before anything starts:
 * clusters, downloads and dumps live there, and a missing or read-only one would otherwise surface as an
 * error deep in a phase, or as a stack trace.
 *
 * @example
 * await assertUsableTempDir(); // throws ConfigError: temp dir /nope (TMPDIR) does not exist — …
 */
export async function assertUsableTempDir(): Promise<void> {
  const dir = tmpdir();
  const named = process.env.TMPDIR ? `${dir} (TMPDIR)` : dir;
  const hint = 'set TMPDIR to an existing folder this user can write to, or unset it to use /tmp';
  const info = await stat(dir).catch(() => null);
  if (!info) throw new ConfigError(`temp dir ${named} does not exist`, hint);
  if (!info.isDirectory()) throw new ConfigError(`temp dir ${named} is not a folder`, hint);
  try {
    await rm(await mkdtemp(join(dir, 'restore-drill-probe.')), { recursive: true, force: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new ConfigError(`temp dir ${named} is not writable (${code})`, hint);
  }
}
