import { randomBytes } from 'node:crypto';

/** The label every resource restore-drill creates carries, so `cleanup` can tell ours from anyone else's. */
export interface ResourceLabel {
  readonly tool: 'restore-drill';
  readonly kind: string;
  readonly runId: string;
  readonly drillName: string;
  /** Process that owns the resource; when it is gone, the resource is a leftover. */
  readonly ownerPid: number;
  readonly createdAt: string;
}

/** Prefix of every local directory, container name and instance identifier restore-drill creates. */
export const RESOURCE_PREFIX = 'restore-drill-';

/**
 * A new run id: UTC time plus randomness, safe in file names, container names and RDS identifiers.
 *
 * @example
 * newRunId(); // 'rd20261123t175226z-3f9a1c'
 */
export function newRunId(now = new Date()): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'z')
    .toLowerCase();
  return `rd${stamp}-${randomBytes(3).toString('hex')}`;
}
