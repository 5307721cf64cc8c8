// The `pg_basebackup` method of a physical restore: the backup copied (plain) or extracted in the sandbox
// (tar), the WAL archive's segments staged after a continuity check, `pg_verifybackup` on the result.

import { spawn } from 'node:child_process';
import { chmod, constants, copyFile, cp, mkdir, open, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError, InterruptedError, RestoreDrillError } from '../../errors.ts';
import type { BaseBackupRestorable } from '../../model/physical-backup.ts';
import { runSandboxed } from './sandbox.ts';
import { backupFormat } from '../../sources/basebackup/base-backup-source.ts';
import { findWalGap, listWalArchive, parseSegmentName, type WalSegment } from '../../sources/basebackup/wal-archive.ts';
import { stageSegment } from './wal-decompress.ts';
import { ownByServer, ownTreeByServer, type PhysicalCluster, type PhysicalMethod } from './physical-cluster.ts';
import { clearRestoredEntry, restoredEntry } from './restored-entry.ts';
import { unreachableSpan } from './wal-gap-span.ts';

/**
 * The restore method of a `pg_basebackup` backup and its WAL archive, for {@link restorePhysical}.
 *
 * @example
 * await restorePhysical(cluster, baseBackupMethod(restorable), restorable.target, options);
 */
export function baseBackupMethod(restorable: BaseBackupRestorable): PhysicalMethod {
  return {
    what: `the ${restorable.format} base backup ${restorable.path}`,
    major: restorable.major,
    layDown: (cluster, signal) => layDown(cluster, restorable, signal),
    stageWal: (cluster, startSegment, stage, log, signal) =>
      stageWal(cluster, restorable, startSegment, stage, log, signal),
    verify: (cluster, stage, signal, log) => {
      log('restore: pg_verifybackup (every file of the backup against its backup_manifest, and the WAL it needs)');
      return verifyBackupFiles(cluster, stage, signal);
    },
  };
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
    // base.tar may have put a link at pg_wal: the sandbox would mount (and tar write into) what it points to.
    if (layout.walTar) {
      await restoredEntry(cluster.dataDir, 'pg_wal');
      await extractInSandbox(cluster, join(restorable.path, layout.walTar), join(cluster.dataDir, 'pg_wal'), signal);
    }
    const manifest = join(cluster.dataDir, 'backup_manifest');
    await clearRestoredEntry(manifest);
    await copyFile(join(restorable.path, 'backup_manifest'), manifest, constants.COPYFILE_EXCL);
    await ownByServer(cluster, manifest);
  }
  await chmod(cluster.dataDir, 0o700);
  const tablespaces = (await restoredEntry(cluster.dataDir, 'pg_tblspc'))?.isDirectory()
    ? await readdir(join(cluster.dataDir, 'pg_tblspc'))
    : [];
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
  signal: AbortSignal | undefined,
): Promise<number> {
  const from = parseSegmentName(startSegment)!;
  const archived = await listWalArchive(restorable.walArchive);
  const inBackup = await walInRestoredCopy(cluster.dataDir);
  const needed = archived.filter((segment) => segment.segNo >= from.segNo && segment.timeline >= from.timeline);
  const gap = findWalGap([...needed, ...inBackup], from);
  if (gap) {
    // The WAL before the gap says until when the archive is whole: staged first, read for its last commit.
    const missing = parseSegmentName(gap.missing)!.segNo;
    for (const segment of needed.filter((s) => s.segNo < missing)) {
      const to = join(stage, segment.name);
      await stageSegment(cluster, segment, join(restorable.walArchive, segment.file), to, signal);
      await ownByServer(cluster, to);
    }
    throw new RestoreDrillError(
      `the WAL archive ${restorable.walArchiveOrigin ?? restorable.walArchive} is missing segment ${gap.missing} (after ${gap.before}${gap.after ? `, before ${gap.after}` : ''}): nothing from LSN ${gap.fromLsn} on can be restored, ${await unreachableSpan(cluster, stage, startSegment, signal)}`,
      'find the segment (archive_command failures are in the production server log), or restore to a target before it',
    );
  }
  const histories = (await readdir(restorable.walArchive)).filter((name) => /^[0-9A-F]{8}\.history$/.test(name));
  for (const name of histories) {
    const to = join(stage, name);
    await copyFile(join(restorable.walArchive, name), to, constants.COPYFILE_FICLONE);
    await ownByServer(cluster, to);
  }
  for (const segment of needed) {
    const to = join(stage, segment.name);
    await stageSegment(cluster, segment, join(restorable.walArchive, segment.file), to, signal);
    await ownByServer(cluster, to);
  }
  const compressed = needed.filter((segment) => segment.compression).length;
  log(
    `restore: ${needed.length} WAL segment(s) staged from ${restorable.walArchiveOrigin ?? restorable.walArchive} (${startSegment} to ${needed.at(-1)?.name ?? startSegment}${compressed ? `; ${compressed} decompressed` : ''})`,
  );
  if (needed.length === 0 && inBackup.length === 0) {
    throw new RestoreDrillError(
      `the WAL archive ${restorable.walArchiveOrigin ?? restorable.walArchive} has no segment from ${startSegment} on, and the backup holds no WAL`,
      'check archive_command, or take backups with -X stream',
    );
  }
  return needed.length;
}

/** The WAL segments the backup holds in its own pg_wal folder (a link there is refused, never followed). */
async function walInRestoredCopy(dataDir: string): Promise<WalSegment[]> {
  const folder = await restoredEntry(dataDir, 'pg_wal');
  // Only plain segments: the server reads pg_wal as it is, a compressed file there is not WAL to it.
  return folder?.isDirectory()
    ? (await listWalArchive(join(dataDir, 'pg_wal'))).filter((segment) => !segment.compression)
    : [];
}

/**
 * `pg_verifybackup` in the sandbox; a damaged backup is a failed restore naming what it found. `manifest`: the
 * manifest's path when it is not the data directory's `backup_manifest`; `ignore`: paths (relative to the data
 * directory) the backup tool's own restore wrote or changed, so the manifest cannot vouch for them.
 *
 * @example
 * const verdict = await verifyBackupFiles(cluster, stage, signal, { ignore: ['postgresql.conf'] });
 */
export async function verifyBackupFiles(
  cluster: PhysicalCluster,
  stage: string,
  signal: AbortSignal | undefined,
  options: { readonly manifest?: string; readonly ignore?: readonly string[] } = {},
): Promise<string> {
  const walInBackup = (await walInRestoredCopy(cluster.dataDir)).length > 0;
  const args = [
    ...(walInBackup ? [] : ['--wal-directory', stage]),
    ...(options.manifest ? ['--manifest-path', options.manifest] : []),
    ...(options.ignore ?? []).flatMap((path) => ['--ignore', path]),
    cluster.dataDir,
  ];
  const command = cluster.sandbox.command('initdb', cluster.bins.path('pg_verifybackup'), args, {
    writable: [],
    readable: [cluster.dataDir, stage],
  });
  const output = await runSandboxed(command, {
    signal,
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
