// A physical restore into the local environment: the base backup is laid down as the cluster's data
// directory, checked with `pg_verifybackup`, and the WAL archive is replayed to the target by PostgreSQL's own
// recovery — all inside the restore sandbox (a backup and its WAL are untrusted input). Replay runs with a
// shell and `cp` (restore_command needs them) but without hot standby, so no SQL runs while they are there;
// the server is then restarted in the usual shell-less sandbox before anything is verified.

import { spawn } from 'node:child_process';
import { mkdir, open, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError, InterruptedError, RestoreDrillError } from '../../errors.ts';
import { describeTarget, type RecoveryTarget } from '../../model/physical-backup.ts';
import { readBackupLabel } from '../../sources/basebackup/backup-label.ts';
import { formatLsn, parseSegmentName } from '../../sources/basebackup/wal-archive.ts';
import type { WalMarker } from '../../model/marker.ts';
import { settleMoment } from './settle-moment.ts';
import type { RestoreOptions } from '../environment.ts';
import { ownByServer, type PhysicalCluster, type PhysicalMethod } from './physical-cluster.ts';
import { removeOwnTree } from './reaper-remove-tree.ts';
import { clearRestoredEntry, restoredEntry } from './restored-entry.ts';

/** Where replay stopped and what it took, from the server's own recovery messages. Recorded as environment facts. */
export interface PhysicalRestoreFacts extends Record<string, string | number | boolean | null> {
  readonly recoveryTarget: string;
  readonly recoveryTargetSettled: string;
  readonly targetTime: string | null;
  readonly archiveLastCommit: string | null;
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
  /** For a restore to a marker's own position: the marker, its position, and the commits that break exactness. */
  readonly walMarker: string | null;
  readonly walMarkerLsn: string | null;
  readonly walMarkerLateCommits: string | null;
}

/** What a physical restore leaves: the facts for the report, and the marker from the WAL it restored to. */
export interface PhysicalRestoreResult {
  readonly facts: PhysicalRestoreFacts;
  /** Restored to a marker's own position: that marker, as the WAL carries it (every table in full). */
  readonly walMarker?: WalMarker;
}

/**
 * Restores a physical backup into `cluster` to `target`: lays the backup down, stages the WAL the restore needs
 * (refusing an archive with a missing segment), verifies the backup with its tool, replays the WAL in the
 * sandbox, then restarts the server for verification. Returns what the server said about where it stopped.
 */
export async function restorePhysical(
  cluster: PhysicalCluster,
  method: PhysicalMethod,
  target: RecoveryTarget,
  options: RestoreOptions,
): Promise<PhysicalRestoreResult> {
  const { signal, log } = options;
  if (method.major !== cluster.bins.major) {
    throw new ConfigError(
      `${method.what} is PostgreSQL ${method.major}, but this environment runs PostgreSQL ${cluster.bins.major}: a physical restore needs the same major version`,
      cluster.sandbox.mechanism === 'container'
        ? `run the image of PostgreSQL ${method.major} (containerPostgres({ image: 'postgres:${method.major}' }))`
        : `install PostgreSQL ${method.major} and point the environment at it (localPostgres({ binDir }) or RESTORE_DRILL_PG_BIN)`,
    );
  }
  await cluster.stopServer();
  // initdb's data directory; removed without following a link, like every tree the server could write into.
  await removeOwnTree(cluster.dataDir);
  await mkdir(cluster.dataDir, { mode: 0o700 });
  await ownByServer(cluster, cluster.dataDir);

  log(`restore: laying down ${method.what}`);
  await method.layDown(cluster, signal);
  // Whatever the method: a pg_wal that links out of the copy is refused before anything reads or replays it.
  await restoredEntry(cluster.dataDir, 'pg_wal');
  const label = await readBackupLabel(cluster.dataDir, { format: 'plain' });
  const stage = join(cluster.dir, 'wal');
  await mkdir(stage, { mode: 0o700 });
  await ownByServer(cluster, stage);
  const staged = await method.stageWal(cluster, label.startSegment, stage, log, signal);
  const verifyBackup = await method.verify(cluster, stage, signal, log);

  const settled = await settleMoment(cluster, stage, label.startLsn, method.consistentLsn, target, signal, log);
  const marker = settled.marker;
  await writeRecoveryConfig(cluster, settled.target, stage, settled.exclusive);
  log(`replay: WAL from ${label.startLsn} to ${describeTarget(target)} (${describeTarget(settled.target)})`);
  options.onReplayStart?.();
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
    recoveryTarget: describeTarget(target),
    // What the server was given: for a random moment or a marker, the time or position settled from the WAL.
    recoveryTargetSettled: describeTarget(settled.target),
    targetTime: settled.target.type === 'time' ? settled.target.time.toISOString() : null,
    archiveLastCommit: settled.lastCommit?.toISOString() ?? null,
    backupStartLsn: label.startLsn,
    verifyBackup,
    walSegmentsStaged: staged,
    // Distinct segments: the server asks for some twice (e.g. the last one again as it ends recovery).
    walSegmentsRestored: new Set(
      [...recoveryLog.matchAll(/restored log file "([0-9A-F]{24})" from archive/g)].map((m) => m[1]),
    ).size,
    recoveryStop: /(recovery stopping (?:before|after) [^\n]*)/.exec(recoveryLog)?.[1]?.trim() ?? null,
    lastReplayedCommit: /last completed transaction was at log time ([^\n]+)/.exec(recoveryLog)?.[1]?.trim() ?? null,
    redoDoneAt: /redo done at (\S+)/.exec(recoveryLog)?.[1] ?? null,
    replaySeconds: Math.round(replaySeconds * 1000) / 1000,
    ...(marker
      ? {
          walMarker: `#${marker.marker.id} taken ${marker.marker.takenAt}`,
          walMarkerLsn: marker.marker.lsn,
          walMarkerLateCommits: marker.late.map(String).join(', '),
        }
      : { walMarker: null, walMarkerLsn: null, walMarkerLateCommits: null }),
  };
  log(
    `replay: done in ${facts.replaySeconds.toFixed(1)} s — ${facts.recoveryStop ?? `replayed to ${facts.redoDoneAt ?? 'the end of the archive'}`}`,
  );
  return marker ? { facts, walMarker: marker.marker } : { facts };
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
  for (const [name, text] of files) await writeOwnFile(cluster, join(cluster.dataDir, name), text);
}

/**
 * Replaces a file of the laid-down backup with ours. The backup put whatever it liked at that name — a symlink
 * to a file of this host, say — so the old entry is unlinked (never followed) and the new one created afresh
 * (`wx`: an entry that reappears in between is refused, not written through).
 */
async function writeOwnFile(cluster: PhysicalCluster, path: string, text: string): Promise<void> {
  await clearRestoredEntry(path);
  await writeFile(path, text, { mode: 0o600, flag: 'wx' });
  await ownByServer(cluster, path);
}

async function writeRecoveryConfig(
  cluster: PhysicalCluster,
  target: RecoveryTarget,
  stage: string,
  exclusive = false,
): Promise<void> {
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
  // A marker's position is the WAL insert point just after its snapshot: the records before it are exactly
  // what the snapshot could see, the record at it is already later (the default would replay it too).
  if (exclusive) recovery.recovery_target_inclusive = 'off';
  if (target.type === 'xid') recovery.recovery_target_xid = target.xid;
  await writeServerConfig(cluster, recovery);
  await clearRestoredEntry(join(cluster.dataDir, 'standby.signal'));
  await writeOwnFile(cluster, join(cluster.dataDir, 'recovery.signal'), '');
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
      // Unique names: the server may ask for a segment again (at a timeline switch, or the last one at the end).
      const restored = [
        ...new Set([...text.matchAll(/restored log file "([0-9A-F]{24})" from archive/g)].map((match) => match[1]!)),
      ];
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
    await fastShutdown(cluster, exit, readLog);
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
async function fastShutdown(
  cluster: PhysicalCluster,
  exit: Promise<void>,
  readLog: () => Promise<string>,
): Promise<void> {
  const wanted = `${cluster.bins.path('postgres')}\0-D\0${cluster.dataDir}\0`;
  const exited = () => exit.then(() => 'exited' as const);
  const after = (ms: number) => new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), ms).unref());
  // A few looks: on a loaded machine the scan of /proc can miss a process, and the server may also have
  // ended by itself in between — then its log says whether that was a clean shutdown.
  for (let look = 0; look < 5; look++) {
    const pid = await findProcess(wanted);
    if (pid) {
      process.kill(pid, 'SIGINT');
      if ((await Promise.race([exited(), after(60_000)])) === 'exited') break;
      throw new RestoreDrillError(
        'the recovered server did not shut down within 60 s after replay',
        'see the recovery log',
      );
    }
    if ((await Promise.race([exited(), after(500)])) === 'exited') break;
  }
  if (!/database system is shut down/.test(await readLog())) {
    throw new RestoreDrillError('the recovered server did not shut down cleanly after replay', 'see the recovery log');
  }
}

/** The pid of the process whose command line is exactly `cmdline` (NUL-separated), or null. */
async function findProcess(cmdline: string): Promise<number | null> {
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    if ((await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '')) === cmdline) return Number(entry);
  }
  return null;
}
