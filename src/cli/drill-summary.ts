import type { DrillMeta } from '../model/drill-meta.ts';
import { DEMO_KEY_NOTE } from '../views/failure-summary.ts';
import { formatDuration } from '../util/duration.ts';

const MARK = { passed: '✓', failed: '✗', error: '!' } as const;

function objective(
  name: string,
  o: { actualSeconds: number | null; targetSeconds: number | null; met: boolean | null },
): string {
  if (o.actualSeconds === null) return `${name} –`;
  const target = o.targetSeconds === null ? '' : `/${formatDuration(o.targetSeconds)} ${o.met ? 'met' : 'MISSED'}`;
  return `${name} ${formatDuration(o.actualSeconds)}${target}`;
}

function clip(text: string, chars: number): string {
  return text.length > chars ? `${text.slice(0, chars - 1)}…` : text;
}

/**
 * One drill as a few lines for a terminal or CI log: status, restore time, RTO/RPO, report path, what
 * failed, and what was not verified.
 */
export function formatDrillSummary(name: string, meta: DrillMeta): string {
  const restore = meta.restoreSeconds === null ? 'restore –' : `restore ${formatDuration(meta.restoreSeconds)}`;
  const lines = [
    `${MARK[meta.status]} ${name} — ${meta.status.toUpperCase()}${meta.partlyVerified ? ` (${meta.partlyVerified})` : ''}${meta.demoKey ? ` (${DEMO_KEY_NOTE})` : ''}  ${restore}  ${objective('RTO', meta.rto)}  ${objective('RPO', meta.rpo)}`,
    `    report: ${meta.markdownPath}`,
  ];
  if (meta.error) lines.push(`    error: ${meta.error}`);
  // A detail can span lines (e.g. the errors of a restore that completed with errors): keep them indented.
  for (const failed of meta.failedChecks.slice(0, 8)) lines.push(`    failed: ${failed.replace(/\n/g, '\n      ')}`);
  if (meta.failedChecks.length > 8)
    lines.push(`    … and ${meta.failedChecks.length - 8} more failed checks (see the report)`);
  if (meta.notVerified?.length)
    lines.push(`    not verified: ${meta.notVerified.map((line) => clip(line, 100)).join('; ')}`);
  return lines.join('\n');
}
