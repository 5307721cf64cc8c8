import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { processAlive, RESOURCE_PREFIX, type ResourceLabel } from './labels.ts';
import { killPostmaster, LABEL_FILE } from './local-postgres.ts';

/** Something a restore-drill run created and a crashed run left behind. */
export interface Leftover {
  readonly kind: string;
  /** Where it is: a directory, a container id, an instance identifier. */
  readonly location: string;
  readonly label: ResourceLabel;
  /** Why it counts as a leftover, e.g. `owner process 1234 is gone`. */
  readonly reason: string;
}

export interface LeftoverOptions {
  /** Only resources at least this old (seconds). Also removes resources of live runs older than this. */
  readonly olderThanSeconds?: number;
  /** Where local clusters and work dirs live; default the OS temp dir. */
  readonly parentDir?: string;
}

/**
 * Finds local clusters and work dirs left by crashed runs: directories named `restore-drill-*` that hold
 * a restore-drill label whose owner process is gone (or, with `olderThanSeconds`, that are that old).
 * Anything without our label is never touched.
 */
export async function findLocalLeftovers(options: LeftoverOptions = {}): Promise<Leftover[]> {
  const parent = options.parentDir ?? tmpdir();
  const names = (await readdir(parent).catch(() => [] as string[])).filter((n) => n.startsWith(RESOURCE_PREFIX));
  const found: Leftover[] = [];
  for (const name of names) {
    const location = join(parent, name);
    const label = await readLabel(location);
    if (!label) continue;
    const ageSeconds = (Date.now() - new Date(label.createdAt).getTime()) / 1000;
    const ownerGone = !processAlive(label.ownerPid);
    if (options.olderThanSeconds !== undefined) {
      if (ageSeconds < options.olderThanSeconds) continue;
      found.push({ kind: label.kind, location, label, reason: ownerGone ? `owner process ${label.ownerPid} is gone` : `older than the limit (${Math.round(ageSeconds)}s)` });
    } else if (ownerGone) {
      found.push({ kind: label.kind, location, label, reason: `owner process ${label.ownerPid} is gone` });
    }
  }
  return found;
}

/**
 * Stops a leftover cluster (only a postmaster whose command line names its data dir), ends the tools the
 * killed run left working in it (a `cp` of the template, `initdb`: they outlive a SIGKILLed parent and would
 * write the directory back), and deletes its directory.
 */
export async function removeLocalLeftover(leftover: Leftover): Promise<void> {
  await killPostmaster(join(leftover.location, 'data'));
  await killProcessesNaming(leftover.location);
  // The label goes last, as in the reaper: a directory that could not be removed stays known as ours.
  for (const entry of await readdir(leftover.location).catch(() => [] as string[])) {
    if (entry !== LABEL_FILE) await rm(join(leftover.location, entry), { recursive: true, force: true, maxRetries: 3 });
  }
  await rm(leftover.location, { recursive: true, force: true, maxRetries: 3 });
}

/** SIGKILLs every other process whose command line names `dir` (a unique, labelled path of ours), and waits for them. */
async function killProcessesNaming(dir: string): Promise<void> {
  const killed: number[] = [];
  for (const entry of await readdir('/proc').catch(() => [] as string[])) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    const args = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0');
    if (!args.some((arg) => arg === dir || arg.startsWith(`${dir}/`) || arg.includes(`=${dir}/`))) continue;
    try {
      process.kill(pid, 'SIGKILL');
      killed.push(pid);
    } catch {
      // Gone meanwhile.
    }
  }
  for (let i = 0; i < 50 && killed.some(processAlive); i++) await new Promise((r) => setTimeout(r, 20));
}

async function readLabel(dir: string): Promise<ResourceLabel | null> {
  try {
    if (!(await stat(dir)).isDirectory()) return null;
    const label = JSON.parse(await readFile(join(dir, LABEL_FILE), 'utf8')) as ResourceLabel;
    return label.tool === 'restore-drill' && typeof label.ownerPid === 'number' ? label : null;
  } catch {
    return null;
  }
}
