import { basename } from 'node:path';
import type { DrillMeta } from '../model/drill-meta.ts';
import { formatHead } from '../evidence/ledger-head.ts';
import { type LedgerHead } from '../model/ledger-head.ts';
import { DEMO_KEY_NOTE, failedCheckLine } from '../views/failure-summary.ts';
import { describeEndpoint, send } from '../util/endpoint.ts';

/** The environment variable that may hold the `--notify` URL (keeps a webhook token off the command line). */
export const NOTIFY_ENV = 'RESTORE_DRILL_NOTIFY';

/** The name {@link NOTIFY_ENV} had before; still read when the new one is not set. */
export const LEGACY_NOTIFY_ENV = 'RESTORE_DRILL_NOTIFY_URL';

/** How many failed checks a message names before it says "and N more". */
const MAX_CHECKS = 5;

/**
 * The JSON a failed or errored drill posts: Slack-compatible (`text`, also read by Mattermost, Rocket.Chat
 * and Teams workflows) plus the same facts as fields for other receivers.
 */
export interface DrillNotification {
  readonly text: string;
  readonly drill: string;
  readonly status: 'failed' | 'error';
  /** The first few failed checks, `name: expected …, got …`. */
  readonly failedChecks: string[];
  readonly report: string;
  readonly reportMarkdown: string;
  /** The report's place in its ledger (`position`, `digest`): a copy of the head outside the report directory. */
  readonly ledger?: LedgerHead;
  /** The CI run's page (its artifacts hold the reports), when known. */
  readonly runUrl?: string;
  /** Present and true when a demo key signed the report. */
  readonly demoKey?: boolean;
}

/** Where the message points a reader: the CI run's page rather than a path on a runner that is gone. */
export interface NotificationOptions {
  /** e.g. `$GITHUB_SERVER_URL/$GITHUB_REPOSITORY/actions/runs/$GITHUB_RUN_ID`. */
  readonly runUrl?: string;
}

/**
 * The message for one drill that did not pass: the status first, then why (the error, each failed check with
 * expected, actual and reason), then where to read more — the CI run when known, else the report's path.
 *
 * @example
 * buildNotification(meta, { runUrl: 'https://github.com/acme/db/actions/runs/42' }).text;
 * // 'restore-drill: drill "shop" FAILED\n• row count public.orders (manifest): expected 2000, got 1999\nrun: https://github.com/acme/db/actions/runs/42 (report ….report.md)'
 */
export function buildNotification(
  drill: DrillMeta & { status: 'failed' | 'error' },
  options: NotificationOptions = {},
): DrillNotification {
  const failed = drill.checks.filter((c) => c.status === 'failed').map(failedCheckLine);
  const shown = failed.slice(0, MAX_CHECKS);
  const lines = [
    `restore-drill: drill "${drill.name}" ${drill.status.toUpperCase()}${drill.demoKey ? ` (${DEMO_KEY_NOTE})` : ''}`,
    ...(drill.error ? [`error: ${drill.error}`] : []),
    ...shown.map((c) => `• ${c}`),
    ...(failed.length > shown.length ? [`… and ${failed.length - shown.length} more failed checks`] : []),
    options.runUrl
      ? `run: ${options.runUrl} (report ${basename(drill.markdownPath)})`
      : `report: ${drill.markdownPath}`,
    ...(drill.ledger ? [`ledger head: ${formatHead(drill.ledger)}`] : []),
  ];
  return {
    text: slackEscape(lines.join('\n')),
    drill: drill.name,
    status: drill.status,
    failedChecks: shown,
    report: drill.reportPath,
    reportMarkdown: drill.markdownPath,
    ...(drill.ledger ? { ledger: drill.ledger } : {}),
    ...(options.runUrl ? { runUrl: options.runUrl } : {}),
    ...(drill.demoKey ? { demoKey: true } : {}),
  };
}

/**
 * POSTs one {@link DrillNotification} per drill that failed or errored; passed drills send nothing.
 * A notification that cannot be delivered is one `warn` line (the URL shown without its path, which may
 * hold a token) and nothing else: it never changes a drill's outcome or the exit code.
 *
 * @example
 * await notifyFailures(new URL(opts.notify), run.drills, (line) => process.stderr.write(`${line}\n`));
 */
export async function notifyFailures(
  url: URL,
  drills: readonly DrillMeta[],
  warn: (line: string) => void,
  options: NotificationOptions = {},
): Promise<void> {
  for (const drill of drills) {
    if (drill.status === 'passed') continue;
    const message = buildNotification(drill as DrillMeta & { status: 'failed' | 'error' }, options);
    const problem = await send(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(message),
    });
    if (problem)
      warn(
        `restore-drill: warning: notification for drill "${drill.name}" to ${describeEndpoint(url)} failed: ${problem}`,
      );
  }
}

/** Slack reads `&`, `<` and `>` as markup (`<url|text>`, `<!channel>`): escape them as its docs say. */
function slackEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
