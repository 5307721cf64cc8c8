import { describeStale } from '../evidence/staleness.ts';
import { formatDuration } from '../util/duration.ts';
import { describeChange, describeForecast, drillForecast, monthlyRestore, recentChange } from './forecast.ts';
import type { DrillHistory, HistoryRun, ReportHistory } from './history.ts';
import { DEMO_KEY_NOTE, failureLines, signedWithDemoKey } from './failure-summary.ts';
import type { ObjectiveResult } from '../model/report.ts';

/**
 * The history as plain text for a terminal: per drill its runs (oldest first) with restore time and
 * RTO/RPO marks, then the 3-month trend and the forecast; the signature and ledger verdict on top.
 *
 * @example
 * process.stdout.write(renderHistoryText(await loadHistory('reports')));
 */
export function renderHistoryText(history: ReportHistory): string {
  const lines: string[] = [];
  // The verdict first, and for each drill whose latest run did not pass, why.
  const failing = history.drills.filter((d) => d.runs.at(-1)!.status !== 'passed');
  if (history.drills.length === 0) lines.push('no drill reports');
  else if (failing.length === 0) lines.push(`✓ the latest run of every drill passed (${history.drills.length})`);
  else lines.push(`✗ ${failing.length} of ${history.drills.length} drill(s): the latest run did not pass`);
  for (const drill of failing) {
    const latest = drill.runs.at(-1)!;
    lines.push(
      `  ${drill.name} — ${latest.status.toUpperCase()} ${latest.report.startedAt.slice(0, 16).replace('T', ' ')}`,
      ...failureLines(latest.report, 5).map((l) => `    ✗ ${l}`),
    );
  }
  const demo = history.drills.flatMap((d) => d.runs).filter((r) => signedWithDemoKey(r.report)).length;
  if (demo > 0) lines.push(`⚠ ${demo} report(s) signed with a demo key — not evidence`);
  lines.push(`${history.dir}: ${history.files} report(s) of ${history.drills.length} drill(s)`);
  if (history.keyid === null) {
    lines.push('signatures: not checked (pass --key PUB.pem to check them and the ledger)');
  } else {
    const runs = history.drills.flatMap((d) => d.runs);
    const verified = runs.filter((r) => r.signature.state === 'verified').length;
    lines.push(`signatures: ${verified} of ${history.files} verified with key ${history.keyid}`);
    if (history.ledger?.valid) lines.push('ledger: ✓ chain unbroken');
    else for (const problem of history.ledger?.problems ?? []) lines.push(`ledger: ✗ BROKEN — ${problem}`);
  }
  lines.push(...staleLines(history));
  for (const u of history.unreadable) lines.push(`unreadable: ${u.file} — ${u.reason}`);
  for (const drill of history.drills) lines.push('', ...drillLines(drill));
  return `${lines.map(printable).join('\n')}\n`;
}

/** One line per stale drill (none when every drill with a cadence is on time). */
function staleLines(history: ReportHistory): string[] {
  const freshness = history.freshness;
  return freshness ? freshness.stale.map((s) => `stale: ✗ ${describeStale(s, freshness.graceSeconds)}`) : [];
}

/** Report text is anyone's to write: control characters (terminal escapes, carriage returns) print as `?`. */
function printable(line: string): string {
  return line.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
}

function drillLines(drill: DrillHistory): string[] {
  const first = drill.runs[0]!.report.startedAt.slice(0, 10);
  const last = drill.runs.at(-1)!.report.startedAt.slice(0, 10);
  const rows = drill.runs.map((run) => [
    run.report.startedAt.slice(0, 16).replace('T', ' '),
    run.status,
    run.restoreSeconds === null ? '—' : formatDuration(run.restoreSeconds),
    objective(run.rto),
    objective(run.rpo),
    signature(run),
  ]);
  const header = ['started (UTC)', 'result', 'restore', 'RTO', 'RPO', 'signature'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    `  ${cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')}`;
  const change = recentChange(monthlyRestore(drill));
  return [
    `${drill.name} — ${drill.runs.length} run(s), ${first} … ${last}`,
    line(header),
    ...rows.flatMap((row, i) => {
      // Each run that did not pass says why, under its row.
      const run = drill.runs[i]!;
      return [line(row), ...failureLines(run.report, 3).map((l) => `      ✗ ${l}`)];
    }),
    `  trend:    restore time ${change ? describeChange(change) : 'not enough history (needs runs in two months)'}`,
    `  forecast: ${describeForecast(drillForecast(drill))}`,
  ];
}

function objective(o: ObjectiveResult): string {
  const mark = o.met === null ? '–' : o.met ? '✓' : '✗';
  const actual = o.actualSeconds === null ? '—' : formatDuration(o.actualSeconds);
  return `${mark} ${actual}${o.targetSeconds === null ? '' : ` / ${formatDuration(o.targetSeconds)}`}`;
}

function signature(run: HistoryRun): string {
  const s = run.signature;
  const demo = signedWithDemoKey(run.report) ? ` (${DEMO_KEY_NOTE})` : '';
  if (s.state === 'verified') return `verified${demo}`;
  if (s.state === 'invalid') return `INVALID: ${s.reason}`;
  return `not checked${demo}`;
}
