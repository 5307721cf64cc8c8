// A physical restore into the local environment: the base backup is laid down as the cluster's data
// directory, checked with `pg_verifybackup`, and the WAL archive is replayed to the target by PostgreSQL's own
// recovery — all inside the restore sandbox (a backup and its WAL are untrusted input). Replay runs with a
// shell and `cp` (restore_command needs them) but without hot standby, so no SQL runs while they are there;
// the server is then restarted in the usual shell-less sandbox before anything is verified.

import { spawn } from 'node:child_process';
import {
  chmod,
  constants,
  copyFile,
  cp,
  lchown,
  mkdir,
  open,
  readdir,
  readFile,
  rm,
  writeFile,
} from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError, InterruptedError, RestoreDrillError } from '../../errors.ts';
import { describeTarget, type BaseBackupRestorable, type RecoveryTarget } from '../../model/physical-backup.ts';
import type { PgBinaries } from '../../postgres/pg-binaries.ts';
import { runCommand } from '../../postgres/run-command.ts';
import { backupFormat } from '../../sources/basebackup/base-backup-source.ts';
import { readBackupLabel } from '../../sources/basebackup/backup-label.ts';
import { findWalGap, formatLsn, listWalArchive, parseSegmentName } from '../../sources/basebackup/wal-archive.ts';
import type { RestoreOptions } from '../environment.ts';
import type { ServerSandbox } from './sandbox.ts';

/** What a physical restore needs of the local cluster it restores into (its server is running on initdb's data). */
export interface PhysicalCluster {
  /** The cluster's private folder; `dataDir` and `socketDir` are in it. */
  readonly dir: string;
  readonly dataDir: string;
  readonly socketDir: string;
  readonly bins: PgBinaries;
  readonly sandbox: ServerSandbox;
  /** The role the harness logs in as, and its password (made for this run). */
  readonly superuser: string;
  readonly password: string;
  /** How the cluster listens and logs (Unix socket only). */
  readonly connectionSettings: Readonly<Record<string, string | number | boolean>>;
  /** Stops the running server (the data directory stays). */
  stopServer(): Promise<void>;
  /** Starts the server in the shell-less sandbox and waits until it accepts connections. */
  startServer(signal: AbortSignal | undefined): Promise<void>;
  /** Runs one statement in single-user mode, sandboxed. */
  singleUser(statement: string, signal: AbortSignal | undefined): Promise<void>;
  /** Writes a server setting value as postgresql.conf wants it. */
  confValue(value: string | number | boolean): string;
}

/** Where replay stopped and what it took, from the server's own recovery messages. Recorded as environment facts. */
export interface PhysicalRestoreFacts extends Record<string, string | number | boolean | null> {
  readonly recoveryTarget: string;
  readonly backupStartLsn: string;
  /** `pg_verifybackup`'s verdict on the backup, e.g. `backup successfully verified`. */
  readonly verifyBackup: string;
  readonly walSegmentsStaged: number;
  readonly walSegmentsRestored: number;
  /** The server's line on where it stopped, e.g. `recovery stopping before commit of transaction 745, time …`. */
  readonly recoveryStop: string | null;
  /** The commit time of the last transaction replayed (the restored copy's newest data), as the server logged it. */
  readonly lastReplayedCommit: string | null;
  readonly redoDoneAt: string | null;
  readonly replaySeconds: number;
}

/**
 * Restores a base backup into `cluster` to `restorable.target`: lays the backup down, verifies it with
 * `pg_verifybackup`, stages the WAL the restore needs (refusing an archive with a missing segment), replays it
 * in the sandbox, then restarts the server for verification. Returns what the server said about where it stopped.
 */
export async function restoreBaseBackup(
  cluster: PhysicalCluster,
  restorable: BaseBackupRestorable,
  options: RestoreOptions,
): Promise<PhysicalRestoreFacts> {
  const { signal, log } = options;
  if (restorable.major !== cluster.bins.major) {
    throw new ConfigError(
      `the base backup ${restorable.path} is PostgreSQL ${restorable.major}, but this environment runs PostgreSQL ${cluster.bins.major}: a physical restore needs the same major version`,
      `install PostgreSQL ${restorable.major} and point the environment at it (localPostgres({ binDir }) or RESTORE_DRILL_PG_BIN)`,
    );
  }
  await cluster.stopServer();
  await rm(cluster.dataDir, { recursive: true, force: true });
  await mkdir(cluster.dataDir, { mode: 0o700 });
  await ownByServer(cluster, cluster.dataDir);

  log(`restore: laying down the ${restorable.format} base backup ${restorable.path}`);
  await layDown(cluster, restorable, signal);
  const label = await readBackupLabel(cluster.dataDir, { format: 'plain' });
  const stage = join(cluster.dir, 'wal');
  const staged = await stageWal(cluster, restorable, label.startSegment, stage, log);

  log('restore: pg_verifybackup (every file of the backup against its backup_manifest, and the WAL it needs)');
  const verifyBackup = await verifyBackupFiles(cluster, stage, signal);

  await writeRecoveryConfig(cluster, restorable.target, stage);
  log(`replay: WAL from ${label.startLsn} to ${describeTarget(restorable.target)}`);
  const started = performance.now();
  const recoveryLog = await replay(cluster, stage, staged, options);
  const replaySeconds = (performance.now() - started) / 1000;

  // Our own login, made while nothing listens: the backup's roles and pg_hba are production's.
  await cluster.singleUser(
    `do $$ begin if exists (select from pg_roles where rolname = '${cluster.superuser}') then alter role "${cluster.superuser}" superuser login password '${cluster.password.replace(/'/g, "''")}'; else create role "${cluster.superuser}" superuser login password '${cluster.password.replace(/'/g, "''")}'; end if; end $$`,
    signal,
  );
  await writeServerConfig(cluster, {});
  await cluster.startServer(signal);

  const facts: PhysicalRestoreFacts = {
    recoveryTarget: describeTarget(restorable.target),
    backupStartLsn: label.startLsn,
    verifyBackup,
    walSegmentsStaged: staged,
    walSegmentsRestored: [...recoveryLog.matchAll(/restored log file "([0-9A-F]{24})" from archive/g)].length,
    recoveryStop: /(recovery stopping (?:before|after) [^\n]*)/.exec(recoveryLog)?.[1]?.trim() ?? null,
    lastReplayedCommit: /last completed transaction was at log time ([^\n]+)/.exec(recoveryLog)?.[1]?.trim() ?? null,
    redoDoneAt: /redo done at (\S+)/.exec(recoveryLog)?.[1] ?? null,
    replaySeconds: Math.round(replaySeconds * 1000) / 1000,
  };
  log(
    `replay: done in ${facts.replaySeconds.toFixed(1)} s — ${facts.recoveryStop ?? `replayed to ${facts.redoDoneAt ?? 'the end of the archive'}`}`,
  );
  return facts;
}

/** Copies (plain) or extracts (tar, inside the sandbox as the server's identity) the backup into the data directory. */
async function layDown(
  cluster: PhysicalCluster,
  restorable: BaseBackupRestorable,
  signal: AbortSignal | undefined,
): Promise<void> {
  const layout = await backupFormat(restorable.path);
  if (layout.format === 'plain') {
    // verbatimSymlinks: a link in the backup stays a link (the sandbox shows the server nothing it could point to).
    await cp(restorable.path, cluster.dataDir, { recursive: true, verbatimSymlinks: true, force: true });
    await ownTreeByServer(cluster, cluster.dataDir);
  } else {
    await extractInSandbox(cluster, join(restorable.path, layout.baseTar), cluster.dataDir, signal);
    if (layout.walTar)
      await extractInSandbox(cluster, join(restorable.path, layout.walTar), join(cluster.dataDir, 'pg_wal'), signal);
    const manifest = join(cluster.dataDir, 'backup_manifest');
    await copyFile(join(restorable.path, 'backup_manifest'), manifest);
    await ownByServer(cluster, manifest);
  }
  await chmod(cluster.dataDir, 0o700);
  const tablespaces = await readdir(join(cluster.dataDir, 'pg_tblspc')).catch(() => []);
  if (tablespaces.length > 0) {
    throw new ConfigError(
      `the base backup ${restorable.path} has tablespaces (pg_tblspc: ${tablespaces.join(', ')}), which restore-drill does not restore yet`,
      'back up a cluster without extra tablespaces',
    );
  }
}

/** `tar -x` of an untrusted archive, run in the sandbox (no network, writes only into `into`), fed on stdin. */
async function extractInSandbox(
  cluster: PhysicalCluster,
  tarFile: string,
  into: string,
  signal: AbortSignal | undefined,
): Promise<void> {
  await mkdir(into, { recursive: true, mode: 0o700 });
  await ownByServer(cluster, into);
  const args = ['-x', ...(tarFile.endsWith('.gz') ? ['-z'] : []), '-f', '-', '-C', into, '--no-same-owner'];
  const command = cluster.sandbox.command('initdb', '/usr/bin/tar', args, { writable: [into] });
  const file = await open(tarFile, 'r');
  try {
    const child = spawn(command.file, command.args, {
      cwd: '/',
      env: command.env,
      stdio: [file.fd, 'ignore', 'pipe'],
      signal,
      ...(command.user ? { uid: command.user.uid, gid: command.user.gid } : {}),
    });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => {
      child.once('exit', (exitCode) => resolve(exitCode));
      child.once('error', () => resolve(null));
    });
    if (signal?.aborted) throw new InterruptedError(signal.reason);
    if (code !== 0)
      throw new RestoreDrillError(
        `tar could not extract ${tarFile}: ${stderr.trim().split('\n').slice(-1)[0] ?? `exit ${code}`}`,
        'check that the backup is complete',
      );
  } finally {
    await file.close();
  }
}

/**
 * Copies the segments replay may need (from the backup's first segment on, and every timeline history) into
 * a folder of the cluster owned by the server's identity, which cannot read a production archive in place.
 * A missing segment between the backup and the archive's end stops the restore, naming it: PostgreSQL would
 * otherwise end replay there and call it the end of the archive.
 */
async function stageWal(
  cluster: PhysicalCluster,
  restorable: BaseBackupRestorable,
  startSegment: string,
  stage: string,
  log: (line: string) => void,
): Promise<number> {
  await mkdir(stage, { mode: 0o700 });
  await ownByServer(cluster, stage);
  const from = parseSegmentName(startSegment)!;
  const archived = await listWalArchive(restorable.walArchive);
  const inBackup = await listWalArchive(join(cluster.dataDir, 'pg_wal')).catch(() => []);
  const needed = archived.filter((segment) => segment.segNo >= from.segNo && segment.timeline >= from.timeline);
  const gap = findWalGap([...needed, ...inBackup], from);
  if (gap) {
    throw new RestoreDrillError(
      `the WAL archive ${restorable.walArchive} is missing segment ${gap.missing} (after ${gap.before}${gap.after ? `, before ${gap.after}` : ''}): nothing from LSN ${gap.fromLsn} on can be restored`,
      'find the segment (archive_command failures are in the production server log), or restore to a target before it',
    );
  }
  const histories = (await readdir(restorable.walArchive)).filter((name) => /^[0-9A-F]{8}\.history$/.test(name));
  for (const name of [...needed.map((segment) => segment.name), ...histories]) {
    const to = join(stage, name);
    await copyFile(join(restorable.walArchive, name), to, constants.COPYFILE_FICLONE);
    await ownByServer(cluster, to);
  }
  log(
    `restore: ${needed.length} WAL segment(s) staged from ${restorable.walArchive} (${startSegment} to ${needed.at(-1)?.name ?? startSegment})`,
  );
  if (needed.length === 0 && inBackup.length === 0) {
    throw new RestoreDrillError(
      `the WAL archive ${restorable.walArchive} has no segment from ${startSegment} on, and the backup holds no WAL`,
      'check archive_command, or take backups with -X stream',
    );
  }
  return needed.length;
}

/** `pg_verifybackup` in the sandbox; a damaged backup is a failed restore naming what it found. */
async function verifyBackupFiles(
  cluster: PhysicalCluster,
  stage: string,
  signal: AbortSignal | undefined,
): Promise<string> {
  const walInBackup = (await listWalArchive(join(cluster.dataDir, 'pg_wal')).catch(() => [])).length > 0;
  const args = [...(walInBackup ? [] : ['--wal-directory', stage]), cluster.dataDir];
  const command = cluster.sandbox.command('initdb', cluster.bins.path('pg_verifybackup'), args, {
    writable: [],
    readable: [cluster.dataDir, stage],
  });
  const output = await runCommand(command.file, command.args, {
    user: command.user,
    env: command.env,
    inheritEnv: false,
    signal,
    cwd: '/',
  }).catch((error: Error & { stderrTail?: string }) => {
    if (signal?.aborted) throw error;
    const findings = (error.stderrTail ?? error.message)
      .split('\n')
      .filter((line) => /error:/.test(line))
      .map((line) => line.replace(/^pg_verifybackup: error: /, ''));
    throw new RestoreDrillError(
      `pg_verifybackup found the base backup damaged: ${findings.slice(0, 3).join('; ') || error.message}${findings.length > 3 ? ` (and ${findings.length - 3} more)` : ''}`,
      'the backup cannot be trusted: take a new one, and check the storage it was kept on',
    );
  });
  return output.stdout.trim().split('\n').slice(-1)[0] ?? 'verified';
}

/** postgresql.conf replaced by ours (production's may archive, preload libraries or listen), pg_hba ours too. */
async function writeServerConfig(
  cluster: PhysicalCluster,
  extra: Readonly<Record<string, string | number | boolean>>,
): Promise<void> {
  const settings: Record<string, string | number | boolean> = {
    ...cluster.connectionSettings,
    archive_mode: false,
    shared_preload_libraries: '',
    hot_standby: false,
    fsync: false,
    timezone: 'UTC',
    log_timezone: 'UTC',
    ...extra,
  };
  const conf = Object.entries(settings)
    .map(([key, value]) => `${key} = ${cluster.confValue(value)}`)
    .join('\n');
  const files: Array<[string, string]> = [
    ['postgresql.conf', `# restore-drill: the physical restore's own settings (production's were not kept)\n${conf}\n`],
    ['postgresql.auto.conf', '# restore-drill: ALTER SYSTEM settings of production were not kept\n'],
    ['pg_hba.conf', `local all ${cluster.superuser} scram-sha-256\n`],
    ['pg_ident.conf', ''],
  ];
  for (const [name, text] of files) {
    const path = join(cluster.dataDir, name);
    await writeFile(path, text, { mode: 0o600 });
    await ownByServer(cluster, path);
  }
}

async function writeRecoveryConfig(cluster: PhysicalCluster, target: RecoveryTarget, stage: string): Promise<void> {
  const recovery: Record<string, string> = {
    restore_command: `cp ${stage}/%f %p`,
    recovery_target_action: 'promote',
    recovery_target_timeline: 'latest',
  };
  if (target.type === 'immediate') recovery.recovery_target = 'immediate';
  // PostgreSQL refuses ISO 8601's "T" and "Z" here; its own form with an explicit UTC offset is exact.
  if (target.type === 'time')
    recovery.recovery_target_time = target.time.toISOString().replace('T', ' ').replace('Z', '+00');
  if (target.type === 'lsn') recovery.recovery_target_lsn = target.lsn;
  if (target.type === 'xid') recovery.recovery_target_xid = target.xid;
  await writeServerConfig(cluster, recovery);
  await rm(join(cluster.dataDir, 'standby.signal'), { force: true });
  const signalFile = join(cluster.dataDir, 'recovery.signal');
  await writeFile(signalFile, '', { mode: 0o600 });
  await ownByServer(cluster, signalFile);
}

/**
 * Runs the server in recovery until it has promoted (recovery ended at the target) or exited (it could not
 * reach it), showing each WAL segment as it is restored; then shuts it down cleanly. Returns its log.
 */
async function replay(
  cluster: PhysicalCluster,
  stage: string,
  staged: number,
  options: RestoreOptions,
): Promise<string> {
  const { signal, log } = options;
  const logPath = join(cluster.dir, 'recovery.log');
  const command = cluster.sandbox.command('initdb', cluster.bins.path('postgres'), ['-D', cluster.dataDir], {
    writable: [cluster.dataDir, cluster.socketDir],
    readable: [stage],
  });
  const logFile = await open(logPath, 'a', 0o600);
  const child = spawn(command.file, command.args, {
    cwd: '/',
    env: command.env,
    stdio: ['ignore', logFile.fd, logFile.fd],
    ...(command.user ? { uid: command.user.uid, gid: command.user.gid } : {}),
  });
  await logFile.close();
  let exited = false;
  const exit = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', () => resolve());
  });
  void exit.then(() => (exited = true));
  const readLog = () => readFile(logPath, 'utf8').catch(() => '');
  let shown = 0;
  try {
    for (;;) {
      if (signal?.aborted) throw new InterruptedError(signal.reason);
      const text = await readLog();
      const restored = [...text.matchAll(/restored log file "([0-9A-F]{24})" from archive/g)].map((match) => match[1]!);
      for (const name of restored.slice(shown)) {
        const segment = parseSegmentName(name)!;
        log(
          `replay: WAL segment ${name} restored (LSN ${formatLsn(segment.segNo * 16n * 1024n * 1024n)}), ${restored.length} of at most ${staged}`,
        );
      }
      shown = restored.length;
      options.progress?.(Math.min(restored.length, staged), Math.max(staged, 1));
      if (/database system is ready to accept connections/.test(text)) break;
      if (exited) {
        const fatal = [...text.matchAll(/(?:FATAL|PANIC):\s+([^\n]*)/g)].map((match) => match[1]).join(' / ');
        throw new RestoreDrillError(
          `WAL replay did not reach the target: ${fatal || 'the server exited during recovery'}`,
          `see the recovery log; the target may be after the archive's end or the archive incomplete`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await fastShutdown(cluster, exit);
    return await readLog();
  } finally {
    if (!exited) child.kill('SIGKILL');
    await exit;
  }
}

/**
 * A clean (fast) shutdown, so the promoted cluster starts again without crash recovery. The postmaster runs
 * in the sandbox's pid namespace: it is found on the host by its command line naming this data directory.
 */
async function fastShutdown(cluster: PhysicalCluster, exit: Promise<void>): Promise<void> {
  const wanted = `${cluster.bins.path('postgres')}\0-D\0${cluster.dataDir}\0`;
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (cmdline === wanted) {
      process.kill(Number(entry), 'SIGINT');
      const timeout = new Promise((resolve) => setTimeout(() => resolve('timeout'), 60_000).unref());
      if ((await Promise.race([exit.then(() => 'exited'), timeout])) === 'exited') return;
      break;
    }
  }
  throw new RestoreDrillError('the recovered server did not shut down cleanly after replay', 'see the recovery log');
}

async function ownByServer(cluster: PhysicalCluster, path: string): Promise<void> {
  const owner = cluster.sandbox.owner;
  if (owner) await lchown(path, owner.uid, owner.gid);
}

/** lchown of every entry: a symlink in the backup is re-owned itself, never what it points to. */
async function ownTreeByServer(cluster: PhysicalCluster, root: string): Promise<void> {
  if (!cluster.sandbox.owner) return;
  await ownByServer(cluster, root);
  for (const entry of await readdir(root, { withFileTypes: true, recursive: true })) {
    await ownByServer(cluster, join(entry.parentPath, entry.name));
  }
}
