import type { StaleDrill } from '../evidence/staleness.ts';
import { formatDuration } from '../util/duration.ts';
import { DEMO_KEY_NOTE, failureLines, signedWithDemoKey } from './failure-summary.ts';
import type { HistoryRun, ReportHistory, SignatureCheck } from './history.ts';
import { summarizeNotVerified } from './not-verified-text.ts';
import type { DrillStatus, ObjectiveResult } from '../model/report.ts';

/** The heading runs are listed under when their drill declares no control. */
export const NO_CONTROL = '(no control declared)';

/**
 * Whether a string is accepted as a control id. Checked loosely, since every framework writes its own:
 * any non-empty text without whitespace (`SOC2-A1.2`, `ISO27001-A.8.13`, `DORA-Art.12`, `internal:BCP-7`).
 *
 * @example
 * isValidControlId('SOC2-A1.2'); // true
 * isValidControlId('SOC 2');     // false
 */
export function isValidControlId(id: string): boolean {
  return id.length > 0 && !/\s/.test(id);
}

/** Where a run stands in the ledger of its directory. */
export type LedgerLink =
  | { readonly state: 'linked' }
  | { readonly state: 'broken'; readonly problem: string }
  | { readonly state: 'unchecked' };

/** One run as evidence for a control. */
export interface ControlEvidence {
  readonly drill: string;
  /** The `.report.json` file name in the report directory. */
  readonly file: string;
  readonly runId: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly status: DrillStatus;
  readonly restoreSeconds: number | null;
  readonly rto: ObjectiveResult;
  readonly rpo: ObjectiveResult;
  readonly signature: SignatureCheck;
  readonly ledger: LedgerLink;
  /** What the run did not verify, one short line per reason; a pass covers only the rest. */
  readonly notVerified: string[];
  /** Signed with a demo key: listed, but not evidence — it counts in none of the row's numbers. */
  readonly demoKey: boolean;
  /** Why the run did not pass: its error and each failed check with its reason (empty when it passed). */
  readonly failures: string[];
}

/** Every run evidencing one control, oldest first. */
export interface ControlRow {
  /** The control id, or {@link NO_CONTROL}. */
  readonly control: string;
  readonly declared: boolean;
  /** Runs that count as evidence: every run except those signed with a demo key. */
  readonly runs: number;
  readonly passed: number;
  /** Runs with status `failed` or `error`. */
  readonly failed: number;
  /** Runs signed with a demo key: listed in `evidence`, counted nowhere else. */
  readonly demoKeyRuns: number;
  /** The newest run that counts as evidence. */
  readonly latest: { readonly startedAt: string; readonly status: DrillStatus } | null;
  readonly evidence: ControlEvidence[];
}

/** A report directory as a compliance-control matrix. */
export interface ControlMatrix {
  readonly schema: 'restore-drill.controls/v1';
  readonly directory: string;
  /** Key id signatures were checked against; null when none was given. */
  readonly keyid: string | null;
  readonly reports: number;
  readonly ledger: { readonly valid: boolean; readonly problems: string[] } | null;
  /** Declared controls sorted by id, then {@link NO_CONTROL} when any run declares none. */
  readonly controls: ControlRow[];
  /** Files that are not readable reports, and control ids that are not valid; nothing is left out silently. */
  readonly warnings: string[];
  /** Drills whose newest report is older than their cadence plus the grace: their controls lack current evidence. */
  readonly stale: StaleDrill[];
}

/**
 * Turns a report history into a matrix per control: every run that evidences it, with its result,
 * measured restore time, RTO/RPO, and whether its signature and its ledger link verify. A run that
 * declares several controls appears under each; one that declares none under {@link NO_CONTROL}.
 *
 * @example
 * const matrix = buildControlMatrix(await loadHistory('reports', { publicKey }));
 */
export function buildControlMatrix(history: ReportHistory): ControlMatrix {
  const warnings = history.unreadable.map(
    (u) => `${u.file}: not a readable report (${u.reason}); it evidences nothing`,
  );
  const byControl = new Map<string, ControlEvidence[]>();
  const runs = history.drills
    .flatMap((d) => d.runs)
    .sort((a, b) => a.report.startedAt.localeCompare(b.report.startedAt) || a.file.localeCompare(b.file));
  for (const run of runs) {
    const ids = new Set<string>();
    for (const raw of Array.isArray(run.report.controls) ? run.report.controls : []) {
      const id = typeof raw === 'string' ? raw.trim() : '';
      if (id === '') {
        warnings.push(`${run.file}: an empty control id was ignored`);
        continue;
      }
      // Listed as given so nothing is hidden, but flagged: a typo here is a gap in the evidence.
      if (!isValidControlId(id)) warnings.push(`${run.file}: control id ${JSON.stringify(id)} contains whitespace`);
      ids.add(id);
    }
    const evidence = toEvidence(run, history);
    for (const id of ids.size > 0 ? ids : [NO_CONTROL]) byControl.set(id, [...(byControl.get(id) ?? []), evidence]);
  }
  const ids = [...byControl.keys()].filter((id) => id !== NO_CONTROL).sort(compareControlIds);
  if (byControl.has(NO_CONTROL)) ids.push(NO_CONTROL);
  return {
    schema: 'restore-drill.controls/v1',
    directory: history.dir,
    keyid: history.keyid,
    reports: history.files,
    ledger: history.ledger ? { valid: history.ledger.valid, problems: [...history.ledger.problems] } : null,
    controls: ids.map((id) => row(id, byControl.get(id)!)),
    warnings,
    stale: history.freshness?.stale ?? [],
  };
}

function row(control: string, evidence: ControlEvidence[]): ControlRow {
  // A demo-key report proves nothing: it is shown, but no number of the row counts it.
  const counted = evidence.filter((e) => !e.demoKey);
  const last = counted.at(-1);
  return {
    control,
    declared: control !== NO_CONTROL,
    runs: counted.length,
    passed: counted.filter((e) => e.status === 'passed').length,
    failed: counted.filter((e) => e.status !== 'passed').length,
    demoKeyRuns: evidence.length - counted.length,
    latest: last ? { startedAt: last.startedAt, status: last.status } : null,
    evidence,
  };
}

function toEvidence(run: HistoryRun, history: ReportHistory): ControlEvidence {
  const { report } = run;
  let ledger: LedgerLink = { state: 'unchecked' };
  if (history.ledger) {
    // verifyLedger names the file each problem was found in at the start of the problem.
    const problem = history.ledger.problems.find((p) => p.startsWith(`${run.file}: `));
    ledger = problem ? { state: 'broken', problem } : { state: 'linked' };
  }
  return {
    drill: report.drill.name,
    file: run.file,
    runId: report.runId,
    startedAt: report.startedAt,
    finishedAt: report.finishedAt,
    status: run.status,
    restoreSeconds: run.restoreSeconds,
    rto: run.rto,
    rpo: run.rpo,
    signature: run.signature,
    ledger,
    notVerified: summarizeNotVerified(
      Array.isArray(report.notVerified) || report.notVerified === undefined ? report.notVerified : [],
    ),
    demoKey: signedWithDemoKey(report),
    failures: failureLines(report),
  };
}

/** Natural order, so `SOC2-A1.10` comes after `SOC2-A1.2`. */
function compareControlIds(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true, sensitivity: 'base' }) || (a < b ? -1 : a > b ? 1 : 0);
}

/**
 * The matrix as JSON for a GRC tool: stable field names, times in ISO 8601 UTC, durations in seconds.
 *
 * @example
 * await writeFile('controls.json', renderControlsJson(matrix));
 */
export function renderControlsJson(matrix: ControlMatrix): string {
  return `${JSON.stringify(matrix, null, 2)}\n`;
}

/**
 * The matrix as Markdown: a summary table of every control, then per control every run that evidences it.
 *
 * @example
 * process.stdout.write(renderControlsMarkdown(matrix));
 */
export function renderControlsMarkdown(matrix: ControlMatrix): string {
  const lines: string[] = ['# Compliance control matrix', ''];
  lines.push(`Report directory \`${matrix.directory}\`: ${matrix.reports} report(s).`, '');
  if (matrix.keyid) {
    const all = matrix.controls.flatMap((c) => c.evidence);
    const files = new Map(all.map((e) => [e.file, e.signature.state]));
    const verified = [...files.values()].filter((s) => s === 'verified').length;
    lines.push(`Signatures checked against key \`${matrix.keyid}\`: ${verified} of ${matrix.reports} verified.`, '');
  } else {
    lines.push('Signatures and ledger **not checked** (no public key given): pass `--key PUB.pem` to check them.', '');
  }
  if (matrix.ledger) {
    lines.push(
      matrix.ledger.valid
        ? 'Ledger: ✅ chain unbroken — no report was removed, edited or reordered.'
        : 'Ledger: ❌ chain BROKEN:',
      '',
    );
    if (!matrix.ledger.valid) lines.push(...matrix.ledger.problems.map((p) => `- ${escapeMarkdown(p)}`), '');
  }
  lines.push(...staleMarkdown(matrix));
  if (matrix.controls.length === 0) {
    lines.push('No reports.', '');
    return lines.join('\n');
  }
  lines.splice(2, 0, ...leadingLines(matrix));
  lines.push(
    ...table(
      ['Control', 'Runs', 'Passed', 'Failed', 'Latest run (UTC)', 'Latest result', 'Demo-key runs (not evidence)'],
      matrix.controls.map((c) => [
        c.control,
        String(c.runs),
        String(c.passed),
        String(c.failed),
        c.latest ? shortTime(c.latest.startedAt) : '—',
        c.latest ? result(c.latest.status) : '—',
        String(c.demoKeyRuns),
      ]),
    ),
    '',
  );
  for (const control of matrix.controls) {
    lines.push(`## ${escapeMarkdown(control.control)}`, '');
    lines.push(
      ...table(
        ['Drill', 'Started (UTC)', 'Result', 'Restore time', 'RTO', 'RPO', 'Signature', 'Ledger', 'Report'],
        control.evidence.map((e) => [
          e.drill,
          shortTime(e.startedAt),
          `${e.demoKey ? `⚠️ ${DEMO_KEY_NOTE} — ` : ''}${result(e.status)}${e.failures.length ? `: ${e.failures.join('; ')}` : ''}`,
          e.restoreSeconds === null ? '—' : formatDuration(e.restoreSeconds),
          objective(e.rto),
          objective(e.rpo),
          signature(e.signature),
          e.ledger.state === 'linked' ? '✅ linked' : e.ledger.state === 'broken' ? '❌ broken' : 'not checked',
          `\`${e.file}\``,
        ]),
      ),
      '',
    );
    lines.push(...notVerifiedLines(control.evidence));
  }
  if (matrix.warnings.length > 0)
    lines.push('## Warnings', '', ...matrix.warnings.map((w) => `- ${escapeMarkdown(w)}`), '');
  return lines.join('\n');
}

/** What the runs of a control did not verify, runs saying the same thing grouped (newest file named). */
function notVerifiedLines(evidence: readonly ControlEvidence[]): string[] {
  const groups = new Map<string, ControlEvidence[]>();
  for (const e of evidence) {
    if (e.notVerified.length === 0) continue;
    const key = `${e.drill}\n${e.notVerified.join('; ')}`;
    groups.set(key, [...(groups.get(key) ?? []), e]);
  }
  if (groups.size === 0) return [];
  const lines = ['Not verified by these runs:', ''];
  for (const runs of groups.values()) {
    const last = runs.at(-1)!;
    lines.push(
      `- ${escapeMarkdown(last.drill)} (${runs.length} run${runs.length === 1 ? '' : 's'}, latest \`${escapeMarkdown(last.file)}\`): ${escapeMarkdown(last.notVerified.join('; '))}`,
    );
  }
  return [...lines, ''];
}

/** The stale drills, right under the ledger verdict: a control whose drill stopped running has no current evidence. */
function staleMarkdown(matrix: ControlMatrix): string[] {
  if (matrix.stale.length === 0) return [];
  return [
    `Stale: ❌ ${matrix.stale.length} drill(s) have no report within their cadence plus grace:`,
    '',
    ...matrix.stale.map(
      (s) =>
        `- **${escapeMarkdown(s.drill)}** — newest report \`${escapeMarkdown(s.file)}\` finished ${shortTime(s.finishedAt)}, cadence ${escapeMarkdown(s.cadence)}, the next was due by ${shortTime(s.dueBy)}`,
    ),
    '',
  ];
}

/**
 * Above the tables: the verdict, each control whose latest evidence did not pass with why, and how many
 * runs were signed with a demo key and count for nothing.
 */
function leadingLines(matrix: ControlMatrix): string[] {
  const failing = matrix.controls.filter((c) => c.latest && c.latest.status !== 'passed');
  const lines: string[] = [];
  if (failing.length === 0) {
    lines.push(
      matrix.controls.some((c) => c.latest)
        ? '**✅ The latest evidence of every control passed.**'
        : '**⚠️ No control has evidence: every run was signed with a demo key.**',
      '',
    );
  } else {
    lines.push(`**❌ ${failing.length} control(s) whose latest evidence did not pass:**`, '');
    for (const control of failing) {
      const latest = control.evidence.filter((e) => !e.demoKey).at(-1)!;
      lines.push(
        `- ${escapeMarkdown(control.control)} — ${escapeMarkdown(latest.drill)}, ${shortTime(latest.startedAt)}: ${result(latest.status)}`,
      );
      lines.push(...latest.failures.slice(0, 5).map((f) => `  - ${escapeMarkdown(f)}`));
    }
    lines.push('');
  }
  const demo = new Set(matrix.controls.flatMap((c) => c.evidence.filter((e) => e.demoKey).map((e) => e.file))).size;
  if (demo > 0)
    lines.push(`⚠️ ${demo} report(s) signed with a demo key — not evidence: listed below, counted nowhere.`, '');
  return lines;
}

function result(status: DrillStatus): string {
  return status === 'passed' ? '✅ passed' : status === 'failed' ? '❌ failed' : '⚠️ error';
}

function objective(o: ObjectiveResult): string {
  const actual = o.actualSeconds === null ? '—' : formatDuration(o.actualSeconds);
  const target = o.targetSeconds === null ? 'no target' : formatDuration(o.targetSeconds);
  const mark = o.met === null ? '' : o.met ? '✅ ' : '❌ ';
  return `${mark}${actual} / ${target}`;
}

function signature(s: SignatureCheck): string {
  const key = s.keyid ? ` (${s.keyid.slice(0, 23)}…)` : '';
  if (s.state === 'verified') return `✅ verified${key}`;
  if (s.state === 'invalid') return `❌ invalid: ${s.reason}`;
  return `not checked${key ? ` — claims${key}` : ''}`;
}

function shortTime(iso: string): string {
  return iso.slice(0, 16).replace('T', ' ');
}

function table(header: string[], rows: string[][]): string[] {
  const line = (cells: string[]) => `| ${cells.map((c) => escapeMarkdown(c)).join(' | ')} |`;
  return [line(header), `|${header.map(() => '---').join('|')}|`, ...rows.map(line)];
}

/**
 * Text from reports cannot end a table cell, start HTML or drive a terminal: backslashes, `|` and `<` are
 * escaped, line breaks become spaces and other control characters `?`.
 */
function escapeMarkdown(text: string): string {
  return text
    .replace(/\\/g, '\\\\')
    .replace(/\|/g, '\\|')
    .replace(/</g, '&lt;')
    .replace(/\r?\n/g, ' ')
    .replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
}
