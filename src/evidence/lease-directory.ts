import { randomBytes } from 'node:crypto';
import { link, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomically } from '../util/atomic-write.ts';
import type { LeaseObjects } from './lease-pool.ts';

/**
 * A lease pool in a directory every holder can write (one machine, or a shared file system that honours
 * hard links, such as NFS): a lease is created complete in a temporary file and hard-linked to its name,
 * which fails when the name exists — so of two holders racing for a slot only one gets it, and a reader
 * never sees half a lease.
 *
 * @example
 * const lease = await acquireLease(directoryLeaseObjects('/shared/leases/rds-instances'), { limit: 2, … });
 */
export function directoryLeaseObjects(dir: string): LeaseObjects {
  return {
    where: dir,
    async list() {
      try {
        return (await readdir(dir)).filter((name) => !name.startsWith('.'));
      } catch (error) {
        if ((error as { code?: string }).code === 'ENOENT') return [];
        throw error;
      }
    },
    async create(name, body) {
      await mkdir(dir, { recursive: true });
      const temp = join(dir, `.${name}.${randomBytes(6).toString('hex')}.tmp`);
      await writeFile(temp, body, { flag: 'wx', mode: 0o644 });
      try {
        await link(temp, join(dir, name));
        return 'created';
      } catch (error) {
        if ((error as { code?: string }).code === 'EEXIST') return 'exists';
        throw error;
      } finally {
        await rm(temp, { force: true });
      }
    },
    async read(name) {
      try {
        return await readFile(join(dir, name), 'utf8');
      } catch (error) {
        if ((error as { code?: string }).code === 'ENOENT') return null;
        throw error;
      }
    },
    async replace(name, body) {
      const problem = await writeFileAtomically(join(dir, name), body);
      if (problem) throw new Error(`lease ${join(dir, name)} could not be written: ${problem}`);
    },
    async remove(name) {
      await rm(join(dir, name), { force: true });
    },
  };
}
