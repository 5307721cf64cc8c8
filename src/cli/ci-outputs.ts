import { appendFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { parseEndpoint } from '../util/endpoint.ts';
import { LEGACY_NOTIFY_ENV, notifyFailures, NOTIFY_ENV } from '../notify/webhook.ts';
import { formatHead, renderHeadMarkdown, runHead } from '../evidence/ledger-head.ts';
import { renderCiSummary, type CiRun } from '../views/ci-summary.ts';
import { forecastLine } from '../views/forecast.ts';
import { loadHistory } from '../views/history.ts';
import { renderJunit } from '../views/junit.ts';
import { checkMetricsPath, pushMetrics, writeMetricsFile } from '../views/metrics-export.ts';
import { writeFileAtomically } from '../util/atomic-write.ts';
import { registerSecret } from '../util/redact.ts';
import { withConcurrentRuns } from './ci-run-state.ts';

/** File names written into the report directory after every `run` and `check`. */
export const JUNIT_FILE = 'junit.xml';
export const SUMMARY_FILE = 'summary.md';

/** The `--notify`, `--metrics-file` and `--pushgateway` flags as given. */
export interface CiFlags {
  readonly notify?: string;
  readonly metricsFile?: string;
  readonly pushgateway?: string;
}

/** The flags, checked: where notifications and metrics go. */
export interface CiTargets {
  readonly notify?: URL;
  readonly metricsFile?: string;
  readonly pushgateway?: URL;
}

/**
 * Checks the CI flags before any drill starts, so a typo is a usage error (exit 2), not a warning after a
 * drill of several hours. `--notify` defaults to `$RESTORE_DRILL_NOTIFY` (or the older `$RESTORE_DRILL_NOTIFY_URL`).
 *
 * @example
 * const targets = parseCiFlags(opts);
 */
export function parseCiFlags(flags: CiFlags, env: NodeJS.ProcessEnv = process.env): CiTargets {
  const fromEnv = env[NOTIFY_ENV]?.trim() ? NOTIFY_ENV : env[LEGACY_NOTIFY_ENV]?.trim() ? LEGACY_NOTIFY_ENV : undefined;
  const notify = flags.notify ?? (fromEnv ? env[fromEnv]!.trim() : undefined);
  // A webhook URL is a credential (its path is the token): no log line or report may show it.
  registerSecret(notify);
  return {
    ...(notify ? { notify: parseEndpoint(notify, flags.notify ? '--notify' : fromEnv!) } : {}),
    ...(flags.metricsFile ? { metricsFile: checkMetricsPath(flags.metricsFile) } : {}),
    ...(flags.pushgateway ? { pushgateway: parseEndpoint(flags.pushgateway, '--pushgateway') } : {}),
  };
}

/** Where {@link writeCiOutputs} writes, and how it reports a problem. */
export interface CiOutputOptions extends CiTargets {
  readonly reportDir: string;
  /** One warning line (already prefixed `restore-drill: warning:`). */
  readonly warn: (line: string) => void;
  /** The evidence store the reports went to (`s3://…`), named in the ledger head line. */
  readonly evidence?: string;
  /** When this invocation began; drills of other processes that finished since are merged in. Default: process start. */
  readonly startedAt?: Date;
  /** Read for `GITHUB_STEP_SUMMARY`, `GITHUB_OUTPUT` and the GitHub run URL; default `process.env`. */
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * Everything CI reads after a run, made from the drills' results: `<report-dir>/junit.xml` and
 * `<report-dir>/summary.md` (atomically replaced; with the drills of other processes writing into the same
 * directory at the same time, see {@link withConcurrentRuns}), the summary appended to `$GITHUB_STEP_SUMMARY` when
 * set, notifications for drills that did not pass, and metrics. None of it can change a drill's outcome
 * or the exit code: every failure here is one warning line.
 *
 * @example
 * await writeCiOutputs({ drills: [toDrillMeta(result)], notRun: [] }, { reportDir: 'reports', ...targets, warn });
 */
export async function writeCiOutputs(
  run: CiRun,
  options: CiOutputOptions,
): Promise<{ junitPath: string; summaryPath: string }> {
  const env = options.env ?? process.env;
  const warn = (what: string) => options.warn(`restore-drill: warning: ${what}`);
  const junitPath = join(options.reportDir, JUNIT_FILE);
  const summaryPath = join(options.reportDir, SUMMARY_FILE);
  // The restore-time trend of these drills over the reports in the directory (signatures unchecked: it is
  // a summary line, the reports stay the record). No forecast is better than a failed summary.
  const forecast =
    run.drills.length > 0
      ? await loadHistory(options.reportDir).then(
          (history) =>
            forecastLine(
              history,
              run.drills.map((d) => d.name),
            ),
          () => undefined,
        )
      : undefined;

  // Parallel `check`s into one directory: each file lists every drill of the processes that overlapped.
  // The ledger head goes into every summary: a copy kept outside the report directory.
  const head = runHead(run.drills);
  const headLine = head ? renderHeadMarkdown(head, options) : '';
  const writeFiles = async (all: CiRun) => {
    const allHead = runHead(all.drills);
    const allHeadLine = allHead ? renderHeadMarkdown(allHead, options) : '';
    for (const [path, content] of [
      [junitPath, renderJunit(all)],
      [summaryPath, renderCiSummary(all, { links: 'relative', reportDir: options.reportDir, forecast }) + allHeadLine],
    ] as const) {
      const problem = await writeFileAtomically(path, content);
      if (problem) warn(`cannot write ${path}: ${problem}`);
    }
  };
  const startedAt = options.startedAt ?? new Date(Date.now() - process.uptime() * 1000);
  await withConcurrentRuns(options.reportDir, run, startedAt, writeFiles).catch(async (error: unknown) => {
    warn(`could not merge with other runs into ${options.reportDir}: ${(error as Error).message.split('\n')[0]}`);
    await writeFiles(run);
  });
  if (env.GITHUB_STEP_SUMMARY) {
    const reportsUrl = githubRunUrl(env);
    const summary =
      renderCiSummary(run, {
        links: 'path',
        reportDir: options.reportDir,
        forecast,
        ...(reportsUrl ? { reportsUrl } : {}),
      }) + headLine;
    await appendFile(env.GITHUB_STEP_SUMMARY, summary).catch((error: NodeJS.ErrnoException) =>
      warn(
        `cannot append to $GITHUB_STEP_SUMMARY (${basename(env.GITHUB_STEP_SUMMARY!)}): ${error.code ?? error.message}`,
      ),
    );
  }
  if (head && env.GITHUB_OUTPUT) {
    // A step output, so a later step (or a caller workflow) can pass the head on, e.g. to an audit log.
    await appendFile(env.GITHUB_OUTPUT, `ledger-head=${formatHead(head)}\n`).catch((error: NodeJS.ErrnoException) =>
      warn(`cannot append to $GITHUB_OUTPUT (${basename(env.GITHUB_OUTPUT!)}): ${error.code ?? error.message}`),
    );
  }
  if (options.notify) await notifyFailures(options.notify, run.drills, options.warn, { runUrl: githubRunUrl(env) });
  if (options.metricsFile) {
    const problem = await writeMetricsFile(options.metricsFile, run.drills);
    if (problem) warn(`cannot write metrics to ${options.metricsFile}: ${problem}`);
  }
  if (options.pushgateway) {
    for (const problem of await pushMetrics(options.pushgateway, run.drills)) warn(problem);
  }
  return { junitPath, summaryPath };
}

/** The page of this GitHub Actions run (its artifacts hold the uploaded report directory), when running there. */
function githubRunUrl(env: NodeJS.ProcessEnv): string | undefined {
  const { GITHUB_SERVER_URL: server, GITHUB_REPOSITORY: repo, GITHUB_RUN_ID: id } = env;
  return server && repo && id ? `${server}/${repo}/actions/runs/${id}` : undefined;
}
