import { randomInt } from 'node:crypto';
import { accessSync, constants, readdirSync, readFileSync, statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { delimiter, dirname, join } from 'node:path';
import { ConfigError } from '../../errors.ts';
import { serverOsUser } from '../../postgres/os-user.ts';
import type { PgBinaries } from '../../postgres/pg-binaries.ts';
import { runCommand, type OsUser, type RunOptions } from '../../postgres/run-command.ts';

/**
 * What the disposable server runs in. A backup is untrusted input: code in it (a CHECK constraint, an index
 * expression, a cast) runs inside the server while it is restored and verified, so the server and everything
 * it spawns get:
 * - an identity of their own: as root a fresh uid/gid per run from a range no account uses (never `postgres`,
 *   never the caller); not as root the caller's uid, confined by a user namespace;
 * - an environment holding only what PostgreSQL needs (no `RESTORE_DRILL_*`, `AWS_*`, `PG*` variables);
 * - a network namespace of their own: no network at all, the harness connects over a Unix socket;
 * - a mount namespace that shows the system's files read-only and only this cluster's data and socket
 *   directories writable: no host /tmp, /home, /root, keys, reports, other clusters or the template cache.
 * The mechanism is bubblewrap (`bwrap`), as root after `setpriv` drops to the throw-away uid.
 */
export interface ServerSandbox {
  /** `bubblewrap` when confined, `none` when the caller opted out. */
  readonly mechanism: 'bubblewrap' | 'container' | 'none';
  /** Who owns the cluster's writable directories and runs the server (null: this process's user). */
  readonly owner: OsUser | null;
  /** One line for logs and the report's environment facts. */
  readonly description: string;
  /**
   * The command line that runs `binary args` in the sandbox. `initdb` also sees `/bin/sh` (initdb starts
   * postgres through it, on no untrusted input); `server` does not, so `COPY … TO PROGRAM` fails loudly.
   */
  command(profile: 'initdb' | 'server', binary: string, args: readonly string[], paths: SandboxPaths): SandboxCommand;
}

/** The paths one sandboxed command may use. Everything else of the host is invisible to it. */
export interface SandboxPaths {
  /** Bound read-write at the same path. */
  readonly writable: readonly string[];
  /** Bound read-only at the same path (e.g. a password file). */
  readonly readable?: readonly string[];
}

/** A command ready for `runCommand` or `spawn`: run it with exactly this environment (nothing inherited). */
export interface SandboxCommand {
  readonly file: string;
  readonly args: string[];
  readonly env: Record<string, string>;
  /** Set when the command itself must be started as this user (only without a sandbox, as root). */
  readonly user: OsUser | null;
}

/**
 * Runs a {@link SandboxCommand} to its end: its own environment only (nothing of this process's), started as
 * its user, from `/`.
 *
 * @example
 * await runSandboxed(sandbox.command('initdb', bins.path('initdb'), args, { writable: [dataDir] }), { signal });
 */
export function runSandboxed(
  command: SandboxCommand,
  options: Omit<RunOptions, 'env' | 'inheritEnv' | 'user' | 'cwd'> = {},
): ReturnType<typeof runCommand> {
  return runCommand(command.file, command.args, {
    ...options,
    user: command.user,
    env: command.env,
    inheritEnv: false,
    cwd: '/',
  });
}

/** Options of {@link makeServerSandbox}. */
export interface SandboxOptions {
  /** false: no sandbox (the caller asked for it); the report then says the restore was not sandboxed. */
  readonly enabled: boolean;
  readonly bins: PgBinaries;
  /** The cluster's directory: the generated passwd and group files are written there. */
  readonly clusterDir: string;
  /** The bubblewrap binary (default: `bwrap` on PATH or in /usr/bin). */
  readonly bwrap?: string;
}

/**
 * Throw-away uids come from here: above systemd's container range (which ends at 1879048191) and below 2^31,
 * where no distribution allocates accounts.
 */
export const SANDBOX_UID_MIN = 1879048192;
const SANDBOX_UID_COUNT = 134217728;

/** The only variables a sandboxed tool gets. */
const SANDBOX_ENV: Record<string, string> = { PATH: '/usr/bin:/bin', LC_ALL: 'C', LANG: 'C' };

/** Whether the restore sandbox is on: `localPostgres({ sandbox })` wins, else `RESTORE_DRILL_SANDBOX=off` turns it off. */
export function sandboxWanted(option: boolean | undefined): boolean {
  if (option !== undefined) return option;
  const env = process.env.RESTORE_DRILL_SANDBOX;
  if (env === undefined || env === '' || /^(on|1|true|yes)$/i.test(env)) return true;
  if (/^(off|0|false|no)$/i.test(env)) return false;
  throw new ConfigError(
    `RESTORE_DRILL_SANDBOX is "${env}"`,
    'set it to "off" to run the restore without the sandbox, or unset it',
  );
}

/**
 * Prepares the sandbox of one cluster: picks its identity, writes the one-line passwd and group files its
 * tools need (initdb and postgres look their own uid up), and checks once per process that bubblewrap works.
 * Throws a {@link ConfigError} when it cannot (bubblewrap missing, user namespaces disabled).
 */
export async function makeServerSandbox(options: SandboxOptions): Promise<ServerSandbox> {
  if (!options.enabled) return unconfined();
  const owner: OsUser | null = process.getuid?.() === 0 ? freshIdentity() : null;
  const { bwrap, setpriv } = await sandboxTools(options.bwrap, owner);
  const uid = owner?.uid ?? process.getuid!();
  const gid = owner?.gid ?? process.getgid!();
  const passwd = join(options.clusterDir, 'passwd');
  const group = join(options.clusterDir, 'group');
  await writeFile(passwd, `restore-drill:x:${uid}:${gid}:restore-drill sandbox:/nonexistent:/usr/sbin/nologin\n`, {
    mode: 0o644,
  });
  await writeFile(group, `restore-drill:x:${gid}:\n`, { mode: 0o644 });
  const bins = options.bins.binDir;
  return {
    mechanism: 'bubblewrap',
    owner,
    description: `bubblewrap: ${owner ? `throw-away uid ${owner.uid}` : `user namespace (uid ${uid})`}, no network, read-only system files`,
    command(profile, binary, args, paths) {
      const inner = [...bwrapArgs(profile, bins, passwd, group, paths), binary, ...args];
      if (!owner) return { file: bwrap, args: inner, env: { ...SANDBOX_ENV }, user: null };
      return {
        file: setpriv!,
        args: ['--reuid', String(owner.uid), '--regid', String(owner.gid), '--clear-groups', '--', bwrap, ...inner],
        env: { ...SANDBOX_ENV },
        user: null,
      };
    },
  };
}

/**
 * Finds bubblewrap (and, as root, setpriv) and starts an empty sandbox once per process, so a missing tool or
 * a kernel or container that forbids the namespaces is one line before a drill starts, not an initdb failure.
 * Throws a {@link ConfigError} saying what to install or allow.
 */
export async function sandboxTools(
  bwrapPath?: string,
  identity?: OsUser | null,
): Promise<{ bwrap: string; setpriv: string | null }> {
  const bwrap = bwrapPath ? (isExecutable(bwrapPath) ? bwrapPath : null) : findExecutable('bwrap');
  if (!bwrap) {
    throw new ConfigError(
      'the restore sandbox needs bubblewrap (bwrap), which is not installed',
      'install it (apt install bubblewrap, dnf install bubblewrap), or run unsandboxed with RESTORE_DRILL_SANDBOX=off / localPostgres({ sandbox: false }) — the report then says so',
    );
  }
  const root = process.getuid?.() === 0;
  const setpriv = root ? findExecutable('setpriv') : null;
  if (root && !setpriv) {
    throw new ConfigError(
      'the restore sandbox needs setpriv (util-linux) to drop root before bubblewrap',
      'install util-linux, or set RESTORE_DRILL_SANDBOX=off',
    );
  }
  await probe(bwrap, setpriv, () => (root ? (identity ?? freshIdentity()) : null));
  return { bwrap, setpriv };
}

function unconfined(): ServerSandbox {
  const owner = serverOsUser();
  return {
    mechanism: 'none',
    owner,
    description: `none (opted out): the server runs as ${owner ? `user ${owner.name}` : 'this user'} with the host's files and network`,
    command: (_profile, binary, args) => ({ file: binary, args: [...args], env: { ...SANDBOX_ENV }, user: owner }),
  };
}

/**
 * bubblewrap's arguments: new user, pid, network, IPC and UTS namespaces; `/usr` read-only with the
 * usual top-level links; a private /proc, /dev and /dev/shm; the generated passwd/group; the given paths;
 * the root itself read-only, so a write anywhere else fails with "Read-only file system".
 */
function bwrapArgs(
  profile: 'initdb' | 'server',
  binDir: string,
  passwd: string,
  group: string,
  paths: SandboxPaths,
): string[] {
  const args = ['--unshare-all', '--die-with-parent', '--new-session', '--ro-bind', '/usr', '/usr'];
  if (profile === 'server') {
    // No shell and no other programs: the server needs none, and a backup's `COPY … TO PROGRAM` then fails
    // with an error (evidence) instead of running something inside the sandbox unseen.
    for (const hidden of ['/usr/bin', '/usr/sbin', '/usr/local', '/usr/games'])
      if (isDirectory(hidden)) args.push('--tmpfs', hidden);
    // Binaries that live in a hidden folder (a distribution with postgres in /usr/bin) are bound back one by one.
    if (
      ['/usr/bin', '/usr/sbin', '/usr/local', '/usr/games'].some(
        (hidden) => binDir === hidden || binDir.startsWith(`${hidden}/`),
      )
    ) {
      args.push('--ro-bind', join(binDir, 'postgres'), join(binDir, 'postgres'));
    }
  }
  if (!binDir.startsWith('/usr/')) args.push('--ro-bind', binDir, binDir, ...siblingDirs(binDir));
  for (const [link, target] of [
    ['/lib', 'usr/lib'],
    ['/lib64', 'usr/lib64'],
    ['/bin', 'usr/bin'],
    ['/sbin', 'usr/sbin'],
    ['/lib32', 'usr/lib32'],
  ]) {
    if (isDirectory(`/${target}`)) args.push('--symlink', target!, link!);
  }
  args.push(
    '--proc',
    '/proc',
    '--dev',
    '/dev',
    '--tmpfs',
    '/dev/shm',
    '--ro-bind',
    passwd,
    '/etc/passwd',
    '--ro-bind',
    group,
    '/etc/group',
  );
  for (const file of ['/etc/localtime', '/etc/ld.so.cache']) if (exists(file)) args.push('--ro-bind', file, file);
  for (const path of paths.readable ?? []) args.push('--ro-bind', path, path);
  for (const path of paths.writable) args.push('--bind', path, path);
  args.push('--remount-ro', '/', '--chdir', paths.writable[0] ?? '/', '--clearenv');
  for (const [name, value] of Object.entries(SANDBOX_ENV)) args.push('--setenv', name, value);
  return args;
}

/** A PostgreSQL installed outside /usr (e.g. /opt/pg16/bin) also needs its lib and share folders. */
function siblingDirs(binDir: string): string[] {
  const prefix = dirname(binDir);
  return ['lib', 'share'].flatMap((name) =>
    isDirectory(join(prefix, name)) ? ['--ro-bind', join(prefix, name), join(prefix, name)] : [],
  );
}

/**
 * A uid/gid no account has and no process runs as, picked at random per run: nothing on the host is owned
 * by it, so the server can reach nothing beyond what the sandbox shows it.
 */
function freshIdentity(): OsUser {
  const taken = takenIds();
  for (;;) {
    const id = SANDBOX_UID_MIN + randomInt(SANDBOX_UID_COUNT);
    if (!taken.has(id)) return { name: 'restore-drill', uid: id, gid: id };
  }
}

/** uids and gids of /etc/passwd, /etc/group and of every running process. */
function takenIds(): Set<number> {
  const taken = new Set<number>();
  for (const file of ['/etc/passwd', '/etc/group']) {
    const text = (() => {
      try {
        return readFileSync(file, 'utf8');
      } catch {
        return '';
      }
    })();
    for (const line of text.split('\n')) {
      const fields = line.split(':');
      for (const field of [fields[2], fields[3]]) if (field && /^\d+$/.test(field)) taken.add(Number(field));
    }
  }
  // A process's /proc directory belongs to its uid and gid: one stat each instead of reading its status.
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const info = statSync(`/proc/${entry}`);
      taken.add(info.uid).add(info.gid);
    } catch {
      // Gone meanwhile.
    }
  }
  return taken;
}

let probed: Promise<void> | undefined;

/** Starts an empty sandbox running `/usr/bin/env`, once per process. */
async function probe(bwrap: string, setpriv: string | null, identity: () => OsUser | null): Promise<void> {
  probed ??= (async () => {
    const owner = identity();
    const inner = [
      '--unshare-all',
      '--die-with-parent',
      '--ro-bind',
      '/usr',
      '/usr',
      '--symlink',
      'usr/lib',
      '/lib',
      '--symlink',
      'usr/lib64',
      '/lib64',
      '--clearenv',
      '/usr/bin/env',
    ];
    const [file, args] =
      owner && setpriv
        ? [
            setpriv,
            ['--reuid', String(owner.uid), '--regid', String(owner.gid), '--clear-groups', '--', bwrap, ...inner],
          ]
        : [bwrap, inner];
    try {
      await runCommand(file, args, { cwd: '/', env: SANDBOX_ENV, inheritEnv: false });
    } catch (error) {
      probed = undefined;
      throw new ConfigError(
        `bubblewrap cannot make the restore sandbox here: ${(error as Error).message}`,
        process.getuid?.() === 0
          ? 'check that namespaces are allowed in this container (e.g. docker run --privileged or a seccomp profile allowing unshare), or set RESTORE_DRILL_SANDBOX=off'
          : 'allow unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1, or kernel.apparmor_restrict_unprivileged_userns=0), run as root, or set RESTORE_DRILL_SANDBOX=off',
      );
    }
  })();
  return probed;
}

function findExecutable(name: string): string | null {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/bin', '/bin', '/usr/sbin', '/sbin'];
  return (
    dirs
      .filter(Boolean)
      .map((dir) => join(dir, name))
      .find(isExecutable) ?? null
  );
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}
