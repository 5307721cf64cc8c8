// Staging one archived WAL segment for replay: copied as it is, or decompressed while it is copied — gzip in
// Node (zlib), zstd and lz4 by their tools run in the restore sandbox (no network, no writable path: the
// segment goes in on stdin and comes out on stdout). An archived segment is untrusted input: one that does
// not decompress, or not to exactly one segment's size, is named and stops the restore.

import { spawn } from 'node:child_process';
import { constants, copyFile, open, access } from 'node:fs/promises';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { ConfigError, InterruptedError, RestoreDrillError } from '../../errors.ts';
import type { WalCompression, WalSegment } from '../../sources/basebackup/wal-archive.ts';
import type { PhysicalCluster } from './physical-cluster.ts';

const SEGMENT_BYTES = 16 * 1024 * 1024;
const TOOLS: Record<Exclude<WalCompression, 'gzip'>, string> = { zstd: '/usr/bin/zstd', lz4: '/usr/bin/lz4' };

/**
 * Writes `segment` (the archive file `from`) to `to`, decompressed. A corrupt compressed segment is a
 * RestoreDrillError naming it; a compression whose tool is not installed is a ConfigError naming both.
 *
 * @example
 * await stageSegment(cluster, segment, join(archive, segment.file), join(stage, segment.name), signal);
 */
export async function stageSegment(
  cluster: PhysicalCluster,
  segment: WalSegment,
  from: string,
  to: string,
  signal: AbortSignal | undefined,
): Promise<void> {
  if (!segment.compression) {
    await copyFile(from, to, constants.COPYFILE_FICLONE);
    return;
  }
  if (segment.compression !== 'gzip') {
    const tool = TOOLS[segment.compression];
    await access(tool, constants.X_OK).catch(() => {
      throw new ConfigError(
        `the WAL archive holds ${segment.compression}-compressed segments (${segment.file}), but ${tool} is not installed`,
        `install ${segment.compression} (apt-get install ${segment.compression === 'zstd' ? 'zstd' : 'lz4'}), or archive uncompressed or gzip segments`,
      );
    });
  }
  const input = await open(from, 'r');
  const output = await open(to, 'wx', 0o600);
  let written = 0;
  const limit = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      written += chunk.length;
      done(written > SEGMENT_BYTES ? new Error('it decompresses to more than one 16 MiB segment') : null, chunk);
    },
  });
  try {
    if (segment.compression === 'gzip') {
      await pipeline(input.createReadStream(), createGunzip(), limit, output.createWriteStream(), { signal });
    } else {
      await decompressInSandbox(cluster, TOOLS[segment.compression], input.fd, (stdout) =>
        pipeline(stdout, limit, output.createWriteStream(), signal ? { signal } : {}),
      );
    }
    if (written !== SEGMENT_BYTES) throw new Error(`it decompresses to ${written} bytes, not one 16 MiB segment`);
  } catch (error) {
    if (signal?.aborted) throw new InterruptedError(signal.reason);
    if (error instanceof RestoreDrillError) throw error;
    throw new RestoreDrillError(
      `the WAL archive's segment ${segment.file} is corrupt (${segment.compression}): ${(error as Error).message}`,
      'replay cannot pass it: find an intact copy of the segment, or restore to a target before it',
    );
  } finally {
    await input.close().catch(() => {});
    await output.close().catch(() => {});
  }
}

/** `<tool> -d -c` in the sandbox, fed the compressed file on stdin; `consume` reads its stdout. */
async function decompressInSandbox(
  cluster: PhysicalCluster,
  tool: string,
  inputFd: number,
  consume: (stdout: Readable) => Promise<void>,
): Promise<void> {
  const command = cluster.sandbox.command('initdb', tool, ['-d', '-c', '-q'], { writable: [] });
  const child = spawn(command.file, command.args, {
    cwd: '/',
    env: command.env,
    stdio: [inputFd, 'pipe', 'pipe'],
    ...(command.user ? { uid: command.user.uid, gid: command.user.gid } : {}),
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exit = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.once('error', () => resolve(null));
  });
  try {
    await consume(child.stdout!);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
  const code = await exit;
  if (code !== 0) throw new Error(stderr.trim().split('\n').slice(-1)[0] || `${tool} exited with code ${code}`);
}
