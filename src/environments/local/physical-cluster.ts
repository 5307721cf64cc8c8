// What a physical restore method (base backup, pgBackRest) needs of the local cluster it restores into,
// and the one rule for files it puts there: they belong to the sandboxed server's identity, links included.

import { lchown, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { PgBinaries } from '../../postgres/pg-binaries.ts';
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

/**
 * How one kind of physical backup is put in place: the data directory laid down, the WAL replay needs staged
 * in a folder the sandboxed server may read, and the backup's own integrity check.
 */
export interface PhysicalMethod {
  /** For logs, e.g. `the plain base backup /backups/base`. */
  readonly what: string;
  /** The backup's PostgreSQL major version. */
  readonly major: number;
  /** Where the backup is consistent, when its tool says (else the base backup's `backup_manifest` is read). */
  readonly consistentLsn?: string;
  layDown(cluster: PhysicalCluster, signal: AbortSignal | undefined): Promise<void>;
  /** Copies the WAL from `startSegment` on into `stage`; throws naming a missing segment. Returns how many. */
  stageWal(
    cluster: PhysicalCluster,
    startSegment: string,
    stage: string,
    log: (line: string) => void,
    signal?: AbortSignal,
  ): Promise<number>;
  /** The backup tool's verification of the laid-down files; its one-line verdict. Throws when damaged. */
  verify(
    cluster: PhysicalCluster,
    stage: string,
    signal: AbortSignal | undefined,
    log: (line: string) => void,
  ): Promise<string>;
}

export async function ownByServer(cluster: PhysicalCluster, path: string): Promise<void> {
  const owner = cluster.sandbox.owner;
  if (owner) await lchown(path, owner.uid, owner.gid);
}

/** lchown of every entry: a symlink in the backup is re-owned itself, never what it points to. */
export async function ownTreeByServer(cluster: PhysicalCluster, root: string): Promise<void> {
  if (!cluster.sandbox.owner) return;
  await ownByServer(cluster, root);
  // Walked by hand: Dirent.parentPath is missing before Node 20.12, and a link is never descended into.
  for (const entry of await readdir(root, { withFileTypes: true })) {
    const path = join(root, entry.name);
    if (entry.isDirectory()) await ownTreeByServer(cluster, path);
    else await ownByServer(cluster, path);
  }
}
