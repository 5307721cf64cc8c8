import { readdir } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Every regular file below `dir`, recursively (symbolic links and other special files are left out).
 *
 * @example
 * await listFiles('backups/shop.dir'); // ['backups/shop.dir/3345.dat.gz', 'backups/shop.dir/toc.dat', …]
 */
export async function listFiles(dir: string): Promise<string[]> {
  const files: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...(await listFiles(path)));
    else if (entry.isFile()) files.push(path);
  }
  return files;
}
