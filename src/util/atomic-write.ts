import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * Writes a file so that readers only ever see the old or the new content: into a hidden temp file in the
 * same directory (its name ends in `.tmp`, so collectors that match `*.prom` or `*.xml` skip it), then
 * renamed over `path`. Creates the directory. Returns why it failed (an errno code), or null.
 *
 * @example
 * const problem = await writeFileAtomically('reports/junit.xml', xml);
 */
export async function writeFileAtomically(path: string, content: string): Promise<string | null> {
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(temp, content, { mode: 0o644 });
    await rename(temp, path);
    return null;
  } catch (error) {
    await rm(temp, { force: true }).catch(() => {});
    return (error as { code?: string }).code ?? (error as Error).message;
  }
}

/**
 * Like {@link writeFileAtomically}, but the directory must exist, an existing temp name is never reused
 * (`wx`), and a failure is thrown (with its errno `code`) rather than returned.
 *
 * @example
 * await writeAtomically('reports/x.report.json', bytes);
 */
export async function writeAtomically(path: string, content: string | Buffer): Promise<void> {
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await writeFile(temp, content, { flag: 'wx', mode: 0o644 });
    await rename(temp, path);
  } finally {
    await rm(temp, { force: true });
  }
}

/**
 * `EACCES: permission denied, open '…'` → `permission denied (EACCES)`: the errno's words without the path
 * (a message names the path already).
 *
 * @example
 * fsReason(error, 'ENOSPC'); // 'no space left on device (ENOSPC)'
 */
export function fsReason(error: Error, code: string): string {
  const text = new RegExp(`^${code}: ([^,]+)`).exec(error.message)?.[1];
  return text ? `${text} (${code})` : code;
}
