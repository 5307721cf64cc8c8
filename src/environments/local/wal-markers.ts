// The markers `restore-drill mark` wrote into the WAL (wal-marker.ts), found in the staged WAL with pg_waldump
// before replay: a restore to a marker's own position needs that position first, and the marker's numbers
// with it (its row commits after the position, so the restored copy cannot hold them).

import { RestoreDrillError } from '../../errors.ts';
import { parseWalMarker } from '../../markers/marker-schema.ts';
import { WAL_MARKER_PREFIX } from '../../markers/wal-marker.ts';
import type { WalMarker } from '../../model/marker.ts';
import { runSandboxed } from './sandbox.ts';
import { parseLsn } from '../../sources/basebackup/wal-archive.ts';
import type { PhysicalCluster } from './physical-cluster.ts';

/**
 * The committed markers in the WAL of `stage` from `fromLsn` on, oldest first. pg_waldump reads the untrusted
 * WAL in the sandbox; a marker whose transaction did not commit is left out, one that does not parse is an error.
 *
 * @example
 * const markers = await findWalMarkers(cluster, stage, label.startLsn, signal);
 */
export async function findWalMarkers(
  cluster: PhysicalCluster,
  stage: string,
  fromLsn: string,
  signal: AbortSignal | undefined,
): Promise<WalDump> {
  const command = cluster.sandbox.command(
    'initdb',
    cluster.bins.path('pg_waldump'),
    ['--path', stage, '--start', fromLsn, '--rmgr', 'LogicalMessage', '--rmgr', 'Transaction'],
    { writable: [], readable: [stage] },
  );
  // pg_waldump exits 1 where the WAL ends (the first record it cannot read): that is the end of the archive.
  const output = await runSandboxed(command, {
    signal,
    acceptExitCodes: [1],
  });
  return parseWalDump(output.stdout);
}

/** What the WAL says about markers: the committed ones, oldest first, and every commit (for their exactness). */
export interface WalDump {
  readonly markers: readonly WalMarker[];
  /** Every commit, with its time as the WAL records it (null when pg_waldump printed none). */
  readonly commits: readonly { readonly xid: bigint; readonly lsn: bigint; readonly at: Date | null }[];
}

/** The committed restore-drill markers and all commits in pg_waldump's output (exported for its test). */
export function parseWalDump(text: string): WalDump {
  const pending = new Map<string, { lsn: string; payload: string }>();
  const committed: WalMarker[] = [];
  const commits: Array<{ xid: bigint; lsn: bigint; at: Date | null }> = [];
  const prefix = `prefix "${WAL_MARKER_PREFIX}"; payload (`;
  for (const line of text.split('\n')) {
    const tx = /\btx:\s+(\d+), lsn: ([0-9A-F]+\/[0-9A-F]+)/.exec(line);
    if (!tx) continue;
    const at = line.indexOf(prefix);
    if (line.startsWith('rmgr: LogicalMessage') && at >= 0) {
      const hex = line.slice(line.indexOf('): ', at) + 3).trim();
      pending.set(tx[1]!, { lsn: tx[2]!, payload: Buffer.from(hex.replace(/ /g, ''), 'hex').toString('utf8') });
    } else if (line.startsWith('rmgr: Transaction') && /desc: COMMIT\b/.test(line)) {
      const time = /desc: COMMIT (\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?)\d* UTC/.exec(line);
      const at = time ? new Date(`${time[1]}T${time[2]}Z`) : null;
      commits.push({ xid: BigInt(tx[1]!), lsn: parseLsn(tx[2]!), at: at && !Number.isNaN(at.getTime()) ? at : null });
    }
    if (line.startsWith('rmgr: Transaction') && pending.has(tx[1]!)) {
      const message = pending.get(tx[1]!)!;
      pending.delete(tx[1]!);
      if (!/desc: COMMIT\b/.test(line)) continue;
      let value: unknown;
      try {
        value = JSON.parse(message.payload);
      } catch {
        value = undefined;
      }
      const parsed = parseWalMarker(value);
      if ('problem' in parsed) {
        throw new RestoreDrillError(
          `the restore-drill marker in the WAL at ${message.lsn} is not readable: ${parsed.problem}`,
          'it was not written by this version of restore-drill; take a new marker with `restore-drill mark`',
        );
      }
      committed.push(parsed.marker);
    }
  }
  return { markers: committed, commits };
}

/**
 * The transactions that make a copy restored just before the marker's position differ from its snapshot:
 * those whose commit lies before the position but which the snapshot did not see (in progress when it was
 * taken, or started after it). Every transaction the snapshot saw committed before the position by
 * construction (the position is read after the snapshot). Empty: the copy is exactly the marker's snapshot.
 *
 * @example
 * const late = lateCommits(marker, dump.commits); // [] → every table compares exactly
 */
export function lateCommits(marker: WalMarker, commits: WalDump['commits']): bigint[] {
  const [, xmaxText, xipText] = marker.snapshot.split(':');
  // pg_waldump prints 32-bit xids, the snapshot 64-bit ones (epoch included). Each 32-bit xid is widened to
  // the 64-bit one nearest the snapshot's xmax (PostgreSQL's own rule: xids less than 2^31 apart are ordered),
  // so a window that crosses the 32-bit wrap compares correctly.
  const xmax = BigInt(xmaxText!);
  const inProgress = new Set((xipText ? xipText.split(',') : []).map((x) => BigInt(x)));
  const position = parseLsn(marker.lsn);
  return commits
    .filter((commit) => {
      if (commit.lsn >= position) return false;
      const full = widenXid(commit.xid, xmax);
      return full >= xmax || inProgress.has(full);
    })
    .map((commit) => commit.xid);
}

/**
 * The 64-bit transaction id of a 32-bit one (as pg_waldump prints it) that lies within 2^31 of `near` (a
 * 64-bit id, e.g. a snapshot's xmax): the same low 32 bits, in `near`'s epoch or the one beside it.
 *
 * @example
 * widenXid(4294967290n, 7n * 2n ** 32n + 5n); // 7n * 2n ** 32n - 6n: epoch 6, just before the wrap
 */
export function widenXid(xid32: bigint, near: bigint): bigint {
  const half = 0x80000000n;
  const full = (near & ~0xffffffffn) | (xid32 & 0xffffffffn);
  if (full > near + half) return full - 0x100000000n;
  if (full < near - half) return full + 0x100000000n;
  return full;
}
