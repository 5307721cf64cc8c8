import { execFileSync } from 'node:child_process';
import { ConfigError } from '../errors.ts';
import type { OsUser } from './run-command.ts';

/**
 * The unprivileged user a local PostgreSQL server runs as. PostgreSQL refuses to start as root, which
 * is what CI containers usually are; then we use `RESTORE_DRILL_PG_USER`, else `postgres`, else `nobody`.
 * Returns null when the process is not root (the server simply runs as the current user).
 */
export function serverOsUser(): OsUser | null {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return null;
  const wanted = process.env.RESTORE_DRILL_PG_USER;
  if (wanted && (wanted === 'root' || uidOf(wanted) === 0)) {
    throw new ConfigError(
      `RESTORE_DRILL_PG_USER names "${wanted}", which is root (uid 0): PostgreSQL refuses to run as root, and code in a backup must never run with root's rights`,
      'set RESTORE_DRILL_PG_USER to an unprivileged user (useradd -r postgres), or unset it',
    );
  }
  const candidates = wanted ? [wanted] : ['postgres', 'nobody'];
  for (const name of candidates) {
    const user = lookupUser(name);
    if (user) return user;
  }
  throw new ConfigError(
    wanted
      ? `RESTORE_DRILL_PG_USER names "${wanted}", which is not a user on this machine`
      : 'running as root and neither a "postgres" nor a "nobody" user exists to run PostgreSQL as',
    'create an unprivileged user (useradd -r postgres) or set RESTORE_DRILL_PG_USER to one',
  );
}

function uidOf(name: string): number | null {
  try {
    return Number(
      execFileSync('id', ['-u', name], { stdio: ['ignore', 'pipe', 'ignore'] })
        .toString()
        .trim(),
    );
  } catch {
    return null;
  }
}

function lookupUser(name: string): OsUser | null {
  try {
    const uid = Number(
      execFileSync('id', ['-u', name], { stdio: ['ignore', 'pipe', 'ignore'] })
        .toString()
        .trim(),
    );
    const gid = Number(
      execFileSync('id', ['-g', name], { stdio: ['ignore', 'pipe', 'ignore'] })
        .toString()
        .trim(),
    );
    if (!Number.isInteger(uid) || uid === 0) return null;
    return { name, uid, gid };
  } catch {
    return null;
  }
}
