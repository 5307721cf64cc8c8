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
