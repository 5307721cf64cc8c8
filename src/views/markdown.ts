import { formatDuration } from '../util/duration.ts';
import { summarizeNotVerified } from './not-verified-text.ts';
import { describeVerification, partlyVerified } from './verification-coverage-text.ts';
import {
  DEMO_KEY_EXPLAINED,
  DEMO_KEY_NOTE,
  failedCheckLine,
  failuresFirst,
  signedWithDemoKey,
} from './failure-summary.ts';
import type { CheckStatus, DrillReport, DrillStatus, ObjectiveResult, RpoBasis, TimeLimit } from '../model/report.ts';

/** What the human report says about the signed file it sits beside. */
export interface MarkdownOptions {
  /** File name of the signed `.report.json`, named in the footer and in the verify command. */
  readonly jsonFile?: string;
  /** Key id of the signing key, so a reader knows which public key to ask for. */
  readonly keyid?: string;
}

const DRILL_STATUS: Record<DrillStatus, string> = { passed: '✅ PASSED', failed: '❌ FAILED', error: '⚠️ ERROR' };
const CHECK_STATUS: Record<CheckStatus, string> = { passed: '✅', failed: '❌', skipped: '⏭️' };
const RPO_BASIS: Record<RpoBasis, string> = {
  marker: 'Achieved RPO measured from the newest marker in the restored data.',
  manifest: 'Achieved RPO measured from the marker manifest written beside the dump.',
  metadata: "Achieved RPO measured from the recovery point's creation time (no markers found).",
  'wal-replay': 'Achieved RPO measured from the last commit the WAL replay restored.',
};

/**
 * Renders a report for people: status, recovery point, objectives, phases, checks and how to verify it.
 * The signed JSON is the record; this is its readable summary.
 *
 * @example
 * await writeFile('x.report.md', renderMarkdown(report, { jsonFile: 'x.report.json', keyid: key.keyid }));
 */
export function renderMarkdown(report: DrillReport, opts: MarkdownOptions = {}): string {
  const lines: string[] = [];
  const passed = report.checks.filter((c) => c.status === 'passed').length;
  const failed = report.checks.filter((c) => c.status === 'failed').length;
  const skipped = report.checks.filter((c) => c.status === 'skipped').length;

  const partly = partlyVerified(report.verification);
  lines.push(
    `# Restore drill: ${inline(report.drill.name)} — ${DRILL_STATUS[report.status]}${partly ? ` (${partly})` : ''}`,
    '',
  );
  lines.push(
    `Run \`${report.runId}\`${report.drill.file ? ` of \`${report.drill.file}\`` : ''}, ` +
      `started ${report.startedAt}, finished ${report.finishedAt}, ` +
      `${report.tool.name} ${report.tool.version}.`,
    '',
  );

  // A reader stops at the first screen: what is wrong with the evidence, and why the drill failed, come first.
  if (signedWithDemoKey(report)) lines.push(`> ⚠️ **${capitalise(DEMO_KEY_NOTE)}.** ${DEMO_KEY_EXPLAINED}`, '');
  if (report.error) {
    lines.push('## Error', '', `In phase **${report.error.phase}**: ${report.error.message}`, '');
  }
  if (failed > 0) {
    lines.push(
      `## Failed checks (${failed})`,
      '',
      ...report.checks.filter((c) => c.status === 'failed').map((c) => `- ❌ ${oneLine(failedCheckLine(c))}`),
      '',
    );
    for (const c of report.checks.filter((c) => c.status === 'failed' && c.queries?.length)) {
      lines.push(
        `SQL run by \`${oneLine(c.name)}\`:`,
        '',
        '```sql',
        ...c.queries!.map((q) => `${q.replaceAll('```', "'''").trim()};`),
        '```',
        '',
      );
    }
  }

  lines.push('## Recovery point', '');
  const point = report.recoveryPoint;
  if (point) {
    lines.push(
      ...table(
        ['', ''],
        [
          ['Source', point.source],
          ['Id', point.id],
          ['Created at', `${point.createdAt} (from ${point.createdAtBasis})`],
          ['Newest marker', point.markerAt ?? 'none found in the restored data'],
          ['Digest', point.digest ?? '—'],
          ...Object.entries(point.facts).map(([name, value]) => [name, show(value)]),
        ],
      ),
    );
  } else {
    lines.push('No recovery point was located.');
  }
  lines.push('');

  lines.push('## Environment', '');
  const env = report.environment;
  lines.push(
    env ? `${env.kind}${env.version ? `, PostgreSQL ${env.version}` : ''}` : 'No environment was started.',
    '',
  );
  if (env?.facts && Object.keys(env.facts).length) {
    lines.push(
      ...table(
        ['', ''],
        Object.entries(env.facts).map(([name, value]) => [name, show(value)]),
      ),
      '',
    );
  }
  if (report.controls.length) {
    lines.push(
      signedWithDemoKey(report) ? `## Controls declared (not evidence: ${DEMO_KEY_NOTE})` : '## Controls evidenced',
      '',
      report.controls.map((c) => `\`${c}\``).join(', '),
      '',
    );
  }

  lines.push('## Objectives', '');
  lines.push(
    ...table(
      ['Objective', 'Target', 'Actual', 'Met'],
      [objectiveRow('RTO', report.objectives.rto), objectiveRow('RPO', report.objectives.rpo)],
    ),
    '',
  );
  const basis = report.objectives.rpo.basis;
  lines.push(basis ? RPO_BASIS[basis] : 'Achieved RPO could not be measured.', '');
  if (report.timeLimit) lines.push(timeLimitLine(report.timeLimit), '');

  lines.push('## Phases', '');
  lines.push(
    ...table(
      ['Phase', 'Started at', 'Duration', 'Status'],
      report.phases.map((p) => [p.name, p.startedAt, formatDuration(p.seconds), p.status]),
    ),
    '',
  );

  lines.push(
    '## Checks',
    '',
    failed > 0
      ? `**${failed} failed**, ${passed} passed, ${skipped} skipped.`
      : `${passed} passed, ${failed} failed, ${skipped} skipped.`,
    '',
  );
  if (report.checks.length > 0) {
    lines.push(
      ...table(
        ['', 'Check', 'Table', 'Expected', 'Actual', 'Detail'],
        failuresFirst(report.checks).map((c) => [
          CHECK_STATUS[c.status],
          c.name,
          c.table ?? '',
          show(c.expected),
          show(c.actual),
          c.detail ?? '',
        ]),
      ),
      '',
    );
  }
  if (report.algorithms.length > 0) lines.push(`Checksum algorithms: ${report.algorithms.join(', ')}.`, '');
  const coverage = describeVerification(report.verification);
  if (coverage.length > 0) lines.push('## Verification budget', '', ...coverage.map((line) => `- ${line}`), '');
  lines.push(...notVerifiedSection(report));

  const jsonFile = opts.jsonFile ?? 'REPORT.report.json';
  lines.push('---', '');
  lines.push(
    `This is a summary. The record is the signed DSSE envelope ` +
      `${opts.jsonFile ? `[\`${jsonFile}\`](${encodeURI(jsonFile)})` : 'beside this file'}` +
      `${opts.keyid ? `, signed with key \`${opts.keyid}\`` : ''}${signedWithDemoKey(report) ? ` (${DEMO_KEY_NOTE})` : ''}` +
      `${report.previous ? `; it follows the report with digest \`${report.previous}\` in the ledger` : ''}.`,
    '',
    'Verify it with the public key:',
    '',
    '```sh',
    `restore-drill verify ${jsonFile} --key PUB.pem`,
    '```',
    '',
  );
  return lines.join('\n');
}

/** What the drill did not verify, so a pass is read for what it covers. */
function notVerifiedSection(report: DrillReport): string[] {
  const summary = summarizeNotVerified(report.notVerified);
  if (summary.length === 0) return ['## Not verified', '', 'Nothing was left unverified.', ''];
  const lines = ['## Not verified', '', ...summary.map((line) => `- ${line}`), ''];
  if (report.notVerified?.length) {
    lines.push(
      ...table(
        ['Kind', 'Name', 'Reason', 'Detail'],
        report.notVerified.map((n) => [n.kind, n.name, n.reason, n.detail]),
      ),
      '',
    );
  }
  return lines;
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** A list item stays one line, whatever a check's detail holds. */
function oneLine(text: string): string {
  return text.replace(/\s*\r?\n\s*/g, ' ');
}

function objectiveRow(name: string, objective: ObjectiveResult): string[] {
  const seconds = (value: number | null) => (value === null ? '—' : formatDuration(value));
  const met = objective.met === null ? '—' : objective.met ? '✅ yes' : '❌ no';
  return [name, seconds(objective.targetSeconds), seconds(objective.actualSeconds), met];
}

function show(value: string | number | boolean | null): string {
  return value === null ? '—' : String(value);
}

function table(header: string[], rows: string[][]): string[] {
  const row = (cells: string[]) => `| ${cells.map(cell).join(' | ')} |`;
  return [row(header), `|${header.map(() => '---').join('|')}|`, ...rows.map(row)];
}

/**
 * Text from a drill spec shown as plain text: a name like `x\n# PASSED` or `[ok](https://evil)` or `<img …>`
 * must not start a heading, a link or HTML. Markdown's punctuation is backslash-escaped, line breaks and
 * other control characters become spaces.
 */
function inline(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ').replace(/[\\`*_{}[\]()#+\-.!|<>~&]/g, '\\$&');
}

/** A table cell: a `|` or a line break in a value would otherwise end the cell or the table. */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\r?\n/g, '<br>');
}

const TIME_LIMIT_BASIS: Record<TimeLimit['basis'], string> = {
  timeLimit: "the drill's timeLimit",
  rto: 'twice the RTO, at least 1h',
  default: 'the default without a timeLimit or an RTO',
};

/** `Time limit: 8h 00m (twice the RTO, at least 1h).` */
function timeLimitLine(limit: TimeLimit): string {
  return `Time limit: ${formatDuration(limit.seconds)} (${TIME_LIMIT_BASIS[limit.basis]}).`;
}
