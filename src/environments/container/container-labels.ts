import { hostname } from 'node:os';
import type { ResourceLabel } from '../labels.ts';

/**
 * Docker labels every restore-drill container carries. `restore-drill cleanup` lists containers by
 * {@link OWNER_LABEL} and never touches one without it, whatever its name.
 */
export const CONTAINER_LABELS = {
  owner: 'restore-drill.owner',
  kind: 'restore-drill.kind',
  runId: 'restore-drill.run-id',
  drill: 'restore-drill.drill',
  createdAt: 'restore-drill.created-at',
  ownerPid: 'restore-drill.owner-pid',
  /** The owner pid only means something on this host: an engine may be shared by several machines. */
  ownerHost: 'restore-drill.owner-host',
} as const;

/** The label (and value) that marks a container as restore-drill's. */
export const OWNER_LABEL = `${CONTAINER_LABELS.owner}=restore-drill`;

/** A container's restore-drill label, plus the host its owner process runs on. */
export interface ContainerLabel extends ResourceLabel {
  readonly ownerHost: string;
}

/**
 * The Docker labels of a resource label.
 *
 * @example
 * containerLabels({ tool: 'restore-drill', kind: 'container', runId, drillName, ownerPid: process.pid, createdAt });
 * // { 'restore-drill.owner': 'restore-drill', 'restore-drill.run-id': runId, … }
 */
export function containerLabels(label: ResourceLabel, ownerHost = hostname()): Record<string, string> {
  return {
    [CONTAINER_LABELS.owner]: label.tool,
    [CONTAINER_LABELS.kind]: label.kind,
    [CONTAINER_LABELS.runId]: label.runId,
    [CONTAINER_LABELS.drill]: label.drillName,
    [CONTAINER_LABELS.createdAt]: label.createdAt,
    [CONTAINER_LABELS.ownerPid]: String(label.ownerPid),
    [CONTAINER_LABELS.ownerHost]: ownerHost,
  };
}

/** Reads a container's labels back; null when it is not restore-drill's (or the labels are incomplete). */
export function labelFromContainer(labels: Readonly<Record<string, string>> | undefined): ContainerLabel | null {
  if (!labels || labels[CONTAINER_LABELS.owner] !== 'restore-drill') return null;
  const ownerPid = Number(labels[CONTAINER_LABELS.ownerPid]);
  const runId = labels[CONTAINER_LABELS.runId];
  const createdAt = labels[CONTAINER_LABELS.createdAt];
  if (!Number.isInteger(ownerPid) || !runId || !createdAt || Number.isNaN(Date.parse(createdAt))) return null;
  return {
    tool: 'restore-drill',
    kind: labels[CONTAINER_LABELS.kind] ?? 'container',
    runId,
    drillName: labels[CONTAINER_LABELS.drill] ?? '',
    createdAt,
    ownerPid,
    ownerHost: labels[CONTAINER_LABELS.ownerHost] ?? '',
  };
}
