import { formatDuration } from '../../util/duration.ts';
import { describeForecast, drillForecast, monthlyRestore, recentChange } from '../forecast.ts';
import type { HistoryRun, ReportHistory } from '../history.ts';
import { DEMO_KEY_NOTE, failureLines, signedWithDemoKey } from '../failure-summary.ts';
import { escapeHtml } from './escape.ts';
import { objectiveCell, shortTime, statusBadge } from './fragments.ts';
import { drillHistorySection, type RunLink } from './history-section.ts';
import { htmlPage } from './page.ts';

/** What the index page of a report directory shows. */
export interface HtmlIndexInput {
  readonly history: ReportHistory;
  /** Title line, e.g. the directory name; default `Restore drill reports`. */
  readonly title?: string;
  /** Links to the runs' files (their `.report.html` pages and signed `.report.json`). */
  readonly link?: RunLink;
  /** What checked the signatures, shown beside the key id, e.g. `the signing key of the drill that wrote this page`. */
  readonly keySource?: string;
}

/**
 * The index page of a report directory: the signature and ledger verdict, a table of every drill with its
 * latest status, trend and forecast, then each drill's history charts and runs.
 *
 * @example
 * await writeFile('reports/index.html', renderHtmlIndex({ history: await loadHistory('reports', { publicKey }) }));
 */
export function renderHtmlIndex(input: HtmlIndexInput): string {
  const { history } = input;
  const title = input.title ?? 'Restore drill reports';
  const body: string[] = [];
  const runs = history.drills.flatMap((d) => d.runs);
  body.push(
    `<h1>${escapeHtml(title)}</h1>`,
    `<p class="meta">${history.files} report file(s) of ${history.drills.length} drill(s) in <code>${escapeHtml(history.dir)}</code>.</p>`,
    // What did not pass leads, with why, above the signature verdict and the tables.
    latestFailuresPanel(input),
    verificationPanel(input, runs),
    stalePanel(history),
    demoKeyPanel(runs),
  );
  if (history.unreadable.length > 0) {
    body.push(
      `<div class="panel bad"><strong>${history.unreadable.length} file(s) could not be read as reports:</strong><ul>` +
        history.unreadable.map((u) => `<li><code>${escapeHtml(u.file)}</code>: ${escapeHtml(u.reason)}</li>`).join('') +
        '</ul></div>',
    );
  }
  body.push('<h2>Drills</h2>', drillTable(input));
  for (const [i, drill] of history.drills.entries()) {
    body.push(
      `<h2 id="drill-${i + 1}">${escapeHtml(drill.name)}</h2>`,
      drillHistorySection(drill, { link: input.link, maxRows: 12 }),
    );
  }
  body.push(
    '<footer>This page is a rendering of the signed <code>.report.json</code> files beside it. ' +
      'Verify them with <code>restore-drill verify --ledger DIR --key PUB.pem</code>, or without restore-drill with openssl ' +
      '(see docs/auditors.md).</footer>',
  );
  return htmlPage(title, body.join('\n'));
}

/** A red panel naming the stale drills; nothing when none is. */
function stalePanel(history: ReportHistory): string {
  const stale = history.freshness?.stale ?? [];
  if (stale.length === 0) return '';
  const items = stale.map(
    (s) =>
      `<li data-stale-drill="${escapeHtml(s.drill)}"><strong>${escapeHtml(s.drill)}</strong>: newest report finished ${escapeHtml(shortTime(s.finishedAt))}, ` +
      `cadence ${escapeHtml(s.cadence)}; the next was due by ${escapeHtml(shortTime(s.dueBy))}</li>`,
  );
  return `<div class="panel bad" data-stale="${stale.length}"><strong>Stale: ${stale.length} drill(s) stopped reporting</strong><ul>${items.join('')}</ul></div>`;
}

function verificationPanel(input: HtmlIndexInput, runs: readonly HistoryRun[]): string {
  const { history } = input;
  if (history.keyid === null) {
    return (
      '<div class="panel unchecked" data-signature="unchecked"><strong>Signatures and ledger not checked</strong> ' +
      '(no public key given): every report is shown as it claims to be.</div>'
    );
  }
  const verified = runs.filter((r) => r.signature.state === 'verified').length;
  const invalid = runs.length - verified + history.unreadable.length;
  const ledger = history.ledger;
  const signatureLine =
    `${verified} of ${history.files} signature(s) verified with key <code>${escapeHtml(history.keyid)}</code>` +
    `${input.keySource ? ` (${escapeHtml(input.keySource)})` : ''}${invalid > 0 ? `; <strong>${invalid} not valid</strong>` : ''}.`;
  const ledgerLine = !ledger
    ? 'Ledger not checked.'
    : ledger.valid
      ? '<span class="yes">Ledger chain unbroken</span>: no report was removed, edited or reordered.'
      : `<span class="no">Ledger chain BROKEN</span>:<ul>${ledger.problems.map((p) => `<li>${escapeHtml(p)}</li>`).join('')}</ul>`;
  const ok = invalid === 0 && ledger?.valid !== false;
  return (
    `<div class="panel ${ok ? 'verified' : 'invalid'}" data-signature="${ok ? 'verified' : 'invalid'}" data-ledger="${ledger ? String(ledger.valid) : 'unchecked'}">` +
    `<p>${signatureLine}</p><p>${ledgerLine}</p></div>`
  );
}

/** Each drill whose latest run did not pass, with the reasons; empty when all passed. */
function latestFailuresPanel(input: HtmlIndexInput): string {
  const failing = input.history.drills
    .map((drill, i) => ({ drill, i, latest: drill.runs.at(-1)! }))
    .filter(({ latest }) => latest.status !== 'passed');
  if (failing.length === 0) return '';
  const items = failing.map(({ drill, i, latest }) => {
    const href = input.link?.(latest, 'page') ?? `#drill-${i + 1}`;
    return (
      `<li class="failing-drill" data-drill="${escapeHtml(drill.name)}"><a href="${href}"><strong>${escapeHtml(drill.name)}</strong></a> ` +
      `${statusBadge(latest.status)}${demoMark(latest)} <span class="meta">${escapeHtml(shortTime(latest.report.startedAt))} UTC</span>${reasons(latest, 5)}</li>`
    );
  });
  return (
    `<section class="panel bad failures" id="failing-drills" data-failing="${failing.length}"><h2>${failing.length} drill(s) whose latest run did not pass</h2>` +
    `<ul>${items.join('')}</ul></section>`
  );
}

/** Why a run did not pass, as a short list under its status; empty for a passed run. */
function reasons(run: HistoryRun, max: number): string {
  const lines = failureLines(run.report, max);
  return lines.length ? `<ul class="reasons">${lines.map((l) => `<li>${escapeHtml(l)}</li>`).join('')}</ul>` : '';
}

function demoMark(run: HistoryRun): string {
  return signedWithDemoKey(run.report)
    ? ` <span class="badge error" data-demo-key="true">${escapeHtml(DEMO_KEY_NOTE)}</span>`
    : '';
}

function demoKeyPanel(runs: readonly HistoryRun[]): string {
  const demo = runs.filter((r) => signedWithDemoKey(r.report)).length;
  if (demo === 0) return '';
  return (
    `<div class="panel warn" data-demo-key="true"><strong>${demo} report(s) signed with a demo key — not evidence.</strong> ` +
    'They show what a drill does; they prove nothing to an auditor. Sign with your own key (RESTORE_DRILL_SIGNING_KEY).</div>'
  );
}

function drillTable(input: HtmlIndexInput): string {
  const rows = input.history.drills.map((drill, i) => {
    const latest = drill.runs.at(-1)!;
    const change = recentChange(monthlyRestore(drill));
    const href = input.link?.(latest, 'page') ?? input.link?.(latest, 'json') ?? null;
    const when = escapeHtml(shortTime(latest.report.startedAt));
    return (
      `<tr class="drill" data-drill="${escapeHtml(drill.name)}"><td><a href="#drill-${i + 1}">${escapeHtml(drill.name)}</a></td>` +
      `<td class="num">${drill.runs.length}</td>` +
      `<td class="mono nowrap">${href ? `<a href="${href}">${when}</a>` : when}</td><td>${statusBadge(latest.status)}${demoMark(latest)}${reasons(latest, 2)}</td>` +
      `<td class="num">${escapeHtml(latest.restoreSeconds === null ? '—' : formatDuration(latest.restoreSeconds))}</td>` +
      `<td>${objectiveCell(latest.rto)}</td><td>${objectiveCell(latest.rpo)}</td>` +
      `<td class="nowrap">${escapeHtml(change ? `${change.arrow}${change.percent === null ? '' : ` ${Math.abs(change.percent).toFixed(0)}%`}` : '—')}</td></tr>` +
      `<tr class="drill-forecast"><td></td><td colspan="7" class="meta">Forecast: ${escapeHtml(describeForecast(drillForecast(drill)))}</td></tr>`
    );
  });
  return (
    '<table class="drills"><thead><tr><th>Drill</th><th>Runs</th><th>Latest run (UTC)</th><th>Latest result</th>' +
    '<th>Restore</th><th>RTO</th><th>RPO</th><th>Restore trend (3 months)</th></tr></thead>' +
    `<tbody>${rows.join('')}</tbody></table>`
  );
}
