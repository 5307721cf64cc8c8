import { formatDuration } from '../../util/duration.ts';
import type { DrillHistory, SignatureCheck } from '../history.ts';
import { DEMO_KEY_EXPLAINED, DEMO_KEY_NOTE, failuresFirst, signedWithDemoKey } from '../failure-summary.ts';
import type { CheckResult, CheckStatus, DrillReport, ObjectiveResult, RpoBasis } from '../../model/report.ts';
import { summarizeNotVerified } from '../not-verified-text.ts';
import { describeVerification, partlyVerified } from '../verification-coverage-text.ts';
import { escapeHtml, fileHref } from './escape.ts';
import { signatureText, statusBadge } from './fragments.ts';
import { drillHistorySection, type RunLink } from './history-section.ts';
import { htmlPage } from './page.ts';
import { phaseTimeline } from './svg-charts.ts';

/** What one run's HTML page shows. */
export interface HtmlReportInput {
  readonly report: DrillReport;
  /** File name of the signed `.report.json` the page renders. */
  readonly jsonFile: string;
  /** Whether that file's signature verified, and with which key. */
  readonly signature: SignatureCheck;
  /** The drill's runs in the same report directory (this one included), for the history charts. */
  readonly history?: DrillHistory;
  /** Links to the runs' files, for the history table. */
  readonly link?: RunLink;
}

const CHECK_MARK: Record<CheckStatus, string> = { passed: '✓', failed: '✗', skipped: '⏭' };
const RPO_BASIS: Record<RpoBasis, string> = {
  marker: 'measured from the newest marker found in the restored data',
  manifest: 'measured from the marker manifest written beside the dump',
  metadata: "measured from the recovery point's creation time (no markers found)",
  'wal-replay': 'measured from the last commit the WAL replay restored',
};

/**
 * One run as a self-contained HTML page: status, what was restored from which recovery point, RTO and RPO
 * against their targets, the phase timeline, every check with expected and actual, the drill's history
 * with its forecast, and whether the signature verified with which key. Every value is escaped.
 *
 * @example
 * await writeFile('x.report.html', renderHtmlReport({ report, jsonFile: 'x.report.json', signature }));
 */
export function renderHtmlReport(input: HtmlReportInput): string {
  const { report, jsonFile, signature } = input;
  const body: string[] = [];
  body.push(
    `<h1>Restore drill: ${escapeHtml(report.drill.name)} ${statusBadge(report.status)}${signedWithDemoKey(report) ? ` ${demoKeyBadge()}` : ''}</h1>`,
  );
  // A pass under a verification budget that checksummed part of the data says so before anything else.
  const partly = partlyVerified(report.verification);
  if (partly)
    body.push(
      `<div class="panel warn" data-partly-verified="true"><strong>${escapeHtml(capitalise(partly))}.</strong></div>`,
    );
  // The first screen says what is wrong: a demo key, the harness error, every failed check with its reason.
  if (signedWithDemoKey(report)) {
    body.push(
      `<div class="panel warn" data-demo-key="true"><strong>${escapeHtml(capitalise(DEMO_KEY_NOTE))}.</strong> ${escapeHtml(DEMO_KEY_EXPLAINED)}</div>`,
    );
  }
  if (report.error) {
    body.push(
      `<div class="panel bad"><strong>Error in phase ${escapeHtml(report.error.phase)}:</strong> ${escapeHtml(report.error.message)}</div>`,
    );
  }
  body.push(failedChecksPanel(report));
  body.push(
    `<p class="meta">Run <code>${escapeHtml(report.runId)}</code>${report.drill.file ? ` of <code>${escapeHtml(report.drill.file)}</code>` : ''}, ` +
      `started ${escapeHtml(report.startedAt)}, finished ${escapeHtml(report.finishedAt)} (UTC), ` +
      `${escapeHtml(report.tool.name)} ${escapeHtml(report.tool.version)}.</p>`,
    signaturePanel(jsonFile, signature),
  );
  if (report.controls.length > 0) {
    const ids = report.controls.map((c) => `<code class="control">${escapeHtml(c)}</code>`).join(', ');
    // A demo-key report names its controls but evidences none of them.
    body.push(
      signedWithDemoKey(report)
        ? `<p>Declares controls ${ids} — not evidence for them: ${escapeHtml(DEMO_KEY_NOTE)}.</p>`
        : `<p>Evidences controls: ${ids}</p>`,
    );
  }
  body.push(summaryCards(report));
  body.push('<h2>What was restored</h2>', recoveryPointTable(report));
  body.push('<h2>Objectives</h2>', objectivesTable(report));
  body.push('<h2>Phases</h2>', phaseTimeline(report.phases), phaseTable(report));
  body.push('<h2>Checks</h2>', checksTable(report));
  const coverage = describeVerification(report.verification);
  if (coverage.length > 0)
    body.push(
      '<h2>Verification budget</h2>',
      `<ul>${coverage.map((line) => `<li>${escapeHtml(line)}</li>`).join('')}</ul>`,
    );
  body.push('<h2>Not verified</h2>', notVerifiedTable(report));
  if (input.history) {
    body.push(
      `<h2>History of this drill</h2>`,
      `<p class="meta">${input.history.runs.length} run(s) of “${escapeHtml(input.history.name)}” in this report directory when this page was written.</p>`,
      drillHistorySection(input.history, { link: input.link, current: jsonFile }),
    );
  }
  body.push(
    '<h2>Ledger</h2>',
    report.previous
      ? `<p>This report follows the report with digest <code>${escapeHtml(report.previous)}</code> in its directory.</p>`
      : '<p>This report starts the ledger of its directory (no previous report).</p>',
    `<footer>This page is a rendering. The record is the signed DSSE envelope <a href="${fileHref(jsonFile)}">${escapeHtml(jsonFile)}</a>. ` +
      `Verify it with <code>restore-drill verify ${escapeHtml(jsonFile)} --key PUB.pem</code>, or without restore-drill ` +
      'with openssl (see docs/auditors.md).</footer>',
  );
  return htmlPage(`Restore drill: ${report.drill.name} — ${report.status.toUpperCase()}`, body.join('\n'));
}

/** Each failed check with expected, actual, why, and the SQL a custom check ran; empty when none failed. */
function failedChecksPanel(report: DrillReport): string {
  const failed = report.checks.filter((c) => c.status === 'failed');
  if (failed.length === 0) return '';
  return (
    `<section class="panel bad failures" id="failed-checks" data-failed="${failed.length}">` +
    `<h2>Failed checks (${failed.length})</h2><ol class="failed-checks">${failed.map(failedCheckItem).join('')}</ol></section>`
  );
}

function failedCheckItem(check: CheckResult): string {
  const show = (value: string | number | boolean | null) => (value === null ? '—' : String(value));
  const values =
    check.expected === null && check.actual === null
      ? ''
      : ` — expected <code>${escapeHtml(show(check.expected))}</code>, got <code>${escapeHtml(show(check.actual))}</code>`;
  const sql = check.queries?.length
    ? `<pre class="sql">${escapeHtml(check.queries.map((q) => `${q.trim()};`).join('\n'))}</pre>`
    : '';
  return (
    `<li class="failed-check"><strong>${escapeHtml(check.name)}</strong>${check.table ? ` <span class="meta">(${escapeHtml(check.table)})</span>` : ''}${values}` +
    `${check.detail ? `<br>${escapeHtml(check.detail)}` : ''}${sql}</li>`
  );
}

/** The SQL a custom check ran, folded away in the checks table. */
function querySummary(check: CheckResult): string {
  if (!check.queries?.length) return '';
  return `<details><summary>SQL (${check.queries.length})</summary><pre class="sql">${escapeHtml(check.queries.map((q) => `${q.trim()};`).join('\n'))}</pre></details>`;
}

function demoKeyBadge(): string {
  return `<span class="badge error" data-demo-key="true">${escapeHtml(DEMO_KEY_NOTE.toUpperCase())}</span>`;
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function signaturePanel(jsonFile: string, signature: SignatureCheck): string {
  return (
    `<div class="panel ${escapeHtml(signature.state)}" data-signature="${escapeHtml(signature.state)}">` +
    `<strong>${escapeHtml(signatureText(signature))}</strong>` +
    `<br><span class="meta">Signed file: <code>${escapeHtml(jsonFile)}</code></span></div>`
  );
}

function summaryCards(report: DrillReport): string {
  const restore = report.phases.find((p) => p.name === 'restore');
  const card = (label: string, value: string, detail: string) =>
    `<div class="card"><div class="label">${escapeHtml(label)}</div><div class="value">${value}</div><div class="detail">${detail}</div></div>`;
  const passed = report.checks.filter((c) => c.status === 'passed').length;
  const failed = report.checks.filter((c) => c.status === 'failed').length;
  return (
    '<div class="cards">' +
    card('RTO (locate → verify)', ...objectiveCard(report.objectives.rto)) +
    card('Achieved RPO', ...objectiveCard(report.objectives.rpo)) +
    card(
      'Restore',
      escapeHtml(restore ? formatDuration(restore.seconds) : '—'),
      escapeHtml(restore ? `phase ${restore.status}` : 'not restored'),
    ) +
    (failed > 0
      ? card(
          'Checks',
          `<span class="no">${escapeHtml(`${failed} failed`)}</span>`,
          escapeHtml(`${passed} passed, ${report.checks.length - passed - failed} skipped`),
        )
      : card(
          'Checks',
          escapeHtml(`${passed} passed`),
          escapeHtml(`${failed} failed, ${report.checks.length - passed - failed} skipped`),
        )) +
    '</div>'
  );
}

/** The value (actual, coloured by whether it was met) and the detail line (target and verdict) of a card. */
function objectiveCard(objective: ObjectiveResult): [string, string] {
  const css = objective.met === null ? 'none' : objective.met ? 'yes' : 'no';
  const actual = objective.actualSeconds === null ? '—' : formatDuration(objective.actualSeconds);
  const target = objective.targetSeconds === null ? 'no target' : `target ${formatDuration(objective.targetSeconds)}`;
  const verdict = objective.met === null ? '' : objective.met ? ' · ✓ met' : ' · ✗ missed';
  return [
    `<span class="${css}" data-met="${objective.met === null ? 'unknown' : String(objective.met)}">${escapeHtml(actual)}</span>`,
    escapeHtml(`${target}${verdict}`),
  ];
}

function recoveryPointTable(report: DrillReport): string {
  const point = report.recoveryPoint;
  const env = report.environment;
  const environment = env
    ? `${escapeHtml(env.kind)}${env.version ? `, PostgreSQL ${escapeHtml(env.version)}` : ''}`
    : 'no environment was started';
  if (!point) return `<p>No recovery point was located.</p><p>Environment: ${environment}</p>`;
  const rows: Array<[string, string]> = [
    ['Source', point.source],
    ['Recovery point', point.id],
    ['Created at', `${point.createdAt} (from ${point.createdAtBasis})`],
    ['Newest marker in the restored data', point.markerAt ?? 'none found'],
    ['Digest', point.digest ?? '—'],
    ...Object.entries(point.facts).map(([name, value]): [string, string] => [
      name,
      value === null ? '—' : String(value),
    ]),
  ];
  // Facts the environment reports about itself (e.g. an RDS instance class), from reports that have them.
  const envFacts = Object.entries(env?.facts ?? {}).map(
    ([name, value]) =>
      `<tr><th>${escapeHtml(`environment ${name}`)}</th><td>${escapeHtml(value === null ? '—' : String(value))}</td></tr>`,
  );
  return (
    `<table class="recovery-point"><tbody>${rows.map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`).join('')}` +
    `<tr><th>Restored into</th><td>${environment}</td></tr>${envFacts.join('')}</tbody></table>`
  );
}

function objectivesTable(report: DrillReport): string {
  const row = (name: string, objective: ObjectiveResult) => {
    const seconds = (value: number | null) => (value === null ? '—' : formatDuration(value));
    const met =
      objective.met === null
        ? '<span class="none">—</span>'
        : objective.met
          ? '<span class="yes">✓ met</span>'
          : '<span class="no">✗ missed</span>';
    return (
      `<tr class="objective" data-objective="${escapeHtml(name)}"><th>${escapeHtml(name)}</th>` +
      `<td class="num">${escapeHtml(seconds(objective.targetSeconds))}</td><td class="num">${escapeHtml(seconds(objective.actualSeconds))}</td><td>${met}</td></tr>`
    );
  };
  const basis = report.objectives.rpo.basis;
  return (
    '<table class="objectives"><thead><tr><th>Objective</th><th class="num">Target</th><th class="num">Actual</th><th>Met</th></tr></thead><tbody>' +
    row('RTO', report.objectives.rto) +
    row('RPO', report.objectives.rpo) +
    '</tbody></table>' +
    `<p class="meta">RTO: start of locate to end of verify. Achieved RPO: ${escapeHtml(basis ? (RPO_BASIS[basis] ?? basis) : 'could not be measured')}.</p>`
  );
}

function phaseTable(report: DrillReport): string {
  const rows = report.phases.map(
    (p) =>
      `<tr><td>${escapeHtml(p.name)}</td><td class="mono">${escapeHtml(p.startedAt)}</td>` +
      `<td class="num">${escapeHtml(formatDuration(p.seconds))}</td><td>${escapeHtml(p.status)}</td></tr>`,
  );
  return `<table class="phases"><thead><tr><th>Phase</th><th>Started at</th><th class="num">Duration</th><th>Status</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function checksTable(report: DrillReport): string {
  if (report.checks.length === 0) return '<p class="empty">No checks ran.</p>';
  const show = (value: string | number | boolean | null) => (value === null ? '—' : String(value));
  const rows = failuresFirst(report.checks).map(
    (c) =>
      `<tr class="check check-${escapeHtml(c.status)}" data-status="${escapeHtml(c.status)}">` +
      `<td>${escapeHtml(CHECK_MARK[c.status] ?? '?')} ${escapeHtml(c.status)}</td><td>${escapeHtml(c.name)}</td>` +
      `<td class="mono">${escapeHtml(c.table ?? '')}</td><td class="mono">${escapeHtml(show(c.expected))}</td>` +
      `<td class="mono">${escapeHtml(show(c.actual))}</td><td>${escapeHtml(c.detail ?? '')}${querySummary(c)}</td></tr>`,
  );
  const count = (status: CheckStatus) => report.checks.filter((c) => c.status === status).length;
  return (
    `<p>${count('passed')} passed, ${count('failed')} failed, ${count('skipped')} skipped.` +
    `${report.algorithms.length ? ` Checksum algorithms: ${report.algorithms.map((a) => `<code>${escapeHtml(a)}</code>`).join(', ')}.` : ''}</p>` +
    '<table class="checks"><thead><tr><th>Status</th><th>Check</th><th>Table</th><th>Expected</th><th>Actual</th><th>Detail</th></tr></thead>' +
    `<tbody>${rows.join('')}</tbody></table>`
  );
}

/** What the drill did not verify: a summary line per reason, then every item with why. */
function notVerifiedTable(report: DrillReport): string {
  const summary = summarizeNotVerified(report.notVerified);
  if (summary.length === 0) return '<p class="empty">Nothing was left unverified.</p>';
  const list = `<ul class="not-verified">${summary.map((line) => `<li>${escapeHtml(line)}</li>`).join('')}</ul>`;
  if (!report.notVerified?.length) return list;
  const rows = report.notVerified.map(
    (n) =>
      `<tr data-reason="${escapeHtml(n.reason)}"><td>${escapeHtml(n.kind)}</td><td class="mono">${escapeHtml(n.name)}</td>` +
      `<td>${escapeHtml(n.reason)}</td><td>${escapeHtml(n.detail)}</td></tr>`,
  );
  return `${list}<table class="not-verified"><thead><tr><th>Kind</th><th>Name</th><th>Reason</th><th>Detail</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}
