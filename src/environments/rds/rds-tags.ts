import type { Tag } from '@aws-sdk/client-rds';
import { RESOURCE_PREFIX } from '../labels.ts';

/**
 * The tags every RDS resource restore-drill creates carries — its label, like the label file of a local
 * cluster. Only resources carrying `restore-drill:owner=restore-drill` are ever modified or deleted, and
 * the IAM policy in iam/restore-drill-policy.json enforces the same rule on AWS's side.
 */
export const RDS_TAG = {
  owner: 'restore-drill:owner',
  runId: 'restore-drill:run-id',
  drill: 'restore-drill:drill',
  createdAt: 'restore-drill:created-at',
  expiresAt: 'restore-drill:expires-at',
} as const;

/** The value of the owner tag. */
export const RDS_OWNER = 'restore-drill';

/** What the tags of one of our RDS resources say. */
export interface RdsLabel {
  readonly runId: string;
  readonly drillName: string;
  readonly createdAt: string | null;
  /** After this time `restore-drill cleanup` deletes the resource. */
  readonly expiresAt: string | null;
}

/**
 * The RDS identifier for a run's temporary instance or cluster: `restore-drill-<run id>[-suffix]`, made to
 * satisfy RDS's rules (letters, digits and hyphens, starts with a letter, at most 63 characters, no double
 * or trailing hyphen).
 *
 * @example
 * rdsIdentifier('rd20261123t175226z-3f9a1c'); // 'restore-drill-rd20261123t175226z-3f9a1c'
 */
export function rdsIdentifier(runId: string, suffix?: string): string {
  const raw = `${RESOURCE_PREFIX}${runId}${suffix ? `-${suffix}` : ''}`.toLowerCase();
  return raw
    .replace(/[^a-z0-9-]/g, '-')
    .replace(/-{2,}/g, '-')
    .slice(0, 63)
    .replace(/-+$/, '');
}

/** The tags of a new resource of run `runId`, plus the drill author's own (which cannot override ours). */
export function drillTags(label: RdsLabel, extra: Readonly<Record<string, string>> = {}): Tag[] {
  const ours: Record<string, string> = {
    [RDS_TAG.owner]: RDS_OWNER,
    [RDS_TAG.runId]: label.runId,
    [RDS_TAG.drill]: tagValue(label.drillName),
    ...(label.createdAt ? { [RDS_TAG.createdAt]: label.createdAt } : {}),
    ...(label.expiresAt ? { [RDS_TAG.expiresAt]: label.expiresAt } : {}),
  };
  const theirs = Object.entries(extra).filter(([key]) => !key.startsWith('restore-drill:'));
  return [...Object.entries(ours), ...theirs].map(([Key, Value]) => ({ Key, Value }));
}

/**
 * Reads our label from a resource's tags; null unless it carries the owner tag and a run id, i.e. unless
 * restore-drill created it.
 *
 * @example
 * readRdsLabel(instance.TagList)?.runId; // 'rd20261123t175226z-3f9a1c', or undefined for anyone else's instance
 */
export function readRdsLabel(tags: readonly Tag[] | undefined): RdsLabel | null {
  const get = (key: string) => tags?.find((t) => t.Key === key)?.Value;
  if (get(RDS_TAG.owner) !== RDS_OWNER) return null;
  const runId = get(RDS_TAG.runId);
  if (!runId) return null;
  return {
    runId,
    drillName: get(RDS_TAG.drill) ?? '',
    createdAt: get(RDS_TAG.createdAt) ?? null,
    expiresAt: get(RDS_TAG.expiresAt) ?? null,
  };
}

/** RDS tag values allow letters, digits, spaces and `_ . : / = + - @`, up to 256 characters. */
function tagValue(text: string): string {
  return text.replace(/[^\p{L}\p{N}\s_.:/=+\-@]/gu, '_').slice(0, 256);
}
