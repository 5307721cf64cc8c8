import { hostname } from 'node:os';
import type { DrillMeta } from '../model/drill-meta.ts';
import type { CiRun } from './ci-summary.ts';
import { reportSlug } from '../evidence/report-files.ts';

/**
 * A run as JUnit XML, the format CI systems (GitHub, GitLab, Jenkins, Azure DevOps, CircleCI) read test
 * results from: one `<testsuite>` per drill, one `<testcase>` per check of its report. A failed check is a
 * `<failure>` with its expected and actual values and detail, a skipped one `<skipped/>`. A drill that
 * stopped in a phase gets an extra `drill <phase>` test case: an `<error>` when its status is `error` (the
 * harness could not finish), a `<failure>` when it is `failed` (e.g. the recovery point could not be
 * located or restored), so a failed drill never looks green. A drill that could not run at all is a suite
 * with one `<error>`, a drill its file skipped a suite with one `<skipped/>`. Counts on every element are computed from the elements written. The classname is `restore-drill.<drill slug>` (no dots inside, since Jenkins splits
 * class names at dots).
 *
 * @example
 * await writeFile('reports/junit.xml', renderJunit({ drills: [toDrillMeta(result)], notRun: [] }));
 */
export function renderJunit(run: CiRun): string {
  const suites = [
    ...run.drills.map((drill) => drillSuite(drill)),
    ...run.notRun.map((drill) =>
      drillOnlySuite(drill.name, { kind: 'error', message: drill.reason, type: 'not-run', text: drill.reason }),
    ),
    ...(run.skipped ?? []).map((drill) => drillOnlySuite(drill.name, { kind: 'skipped', message: drill.reason })),
  ];
  const count = (cases: TestCase[], kind: Outcome['kind']) => cases.filter((c) => c.outcome?.kind === kind).length;
  const all = suites.flatMap((s) => s.cases);
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites${attrs({ name: 'restore-drill', tests: all.length, failures: count(all, 'failure'), errors: count(all, 'error'), skipped: count(all, 'skipped'), time: seconds(suites.reduce((t, s) => t + s.seconds, 0)) })}>`,
  ];
  suites.forEach((suite, id) => {
    lines.push(
      `  <testsuite${attrs({
        name: suite.name,
        tests: suite.cases.length,
        failures: count(suite.cases, 'failure'),
        errors: count(suite.cases, 'error'),
        skipped: count(suite.cases, 'skipped'),
        time: seconds(suite.seconds),
        ...(suite.timestamp ? { timestamp: suite.timestamp } : {}),
        hostname: hostname(),
        id,
        package: 'restore-drill',
      })}>`,
    );
    if (suite.properties.length > 0) {
      lines.push('    <properties>');
      for (const [name, value] of suite.properties) lines.push(`      <property${attrs({ name, value })}/>`);
      lines.push('    </properties>');
    }
    for (const test of suite.cases) {
      const open = `    <testcase${attrs({ name: test.name, classname: test.classname, time: '0' })}`;
      const o = test.outcome;
      if (!o) lines.push(`${open}/>`);
      else if (o.kind === 'skipped')
        lines.push(`${open}>`, `      <skipped${attrs({ message: o.message })}/>`, '    </testcase>');
      else
        lines.push(
          `${open}>`,
          `      <${o.kind}${attrs({ message: o.message, type: o.type })}>${text(o.text)}</${o.kind}>`,
          '    </testcase>',
        );
    }
    lines.push('  </testsuite>');
  });
  lines.push('</testsuites>', '');
  return lines.join('\n');
}

type Outcome =
  | { readonly kind: 'failure' | 'error'; readonly message: string; readonly type: string; readonly text: string }
  | { readonly kind: 'skipped'; readonly message: string };
interface TestCase {
  readonly name: string;
  readonly classname: string;
  readonly outcome?: Outcome;
}

/** A drill without a report (it could not run, or its file skipped it): a suite of one `drill` test case. */
function drillOnlySuite(name: string, outcome: Outcome) {
  return {
    name,
    timestamp: null,
    seconds: 0,
    properties: [],
    cases: [{ name: 'drill', classname: classname(name), outcome }],
  };
}

function drillSuite(drill: DrillMeta) {
  const cases: TestCase[] = drill.checks.map((check) => {
    const base = { name: check.name, classname: classname(drill.name) };
    if (check.status === 'passed') return base;
    if (check.status === 'skipped')
      return { ...base, outcome: { kind: 'skipped', message: check.detail ?? 'skipped' } };
    const message = `expected ${show(check.expected)}, got ${show(check.actual)}`;
    const body = [
      `expected: ${show(check.expected)}`,
      `actual: ${show(check.actual)}`,
      ...(check.detail ? [`detail: ${check.detail}`] : []),
      `report: ${drill.markdownPath}`,
    ];
    return { ...base, outcome: { kind: 'failure', message, type: 'check', text: body.join('\n') } };
  });
  if (drill.status !== 'passed' && (drill.error || drill.status === 'error')) {
    // DrillMeta.error is `<phase>: <message>`.
    const [phase, ...rest] = drill.error ? drill.error.split(': ') : [];
    const message = rest.join(': ') || drill.error || 'the drill could not finish';
    const outcome = {
      kind: drill.status === 'error' ? 'error' : 'failure',
      message,
      type: phase ?? 'drill',
      text: `${message}\nreport: ${drill.markdownPath}`,
    } as const;
    cases.push({ name: phase ? `drill ${phase}` : 'drill', classname: classname(drill.name), outcome });
  }
  const started = Date.parse(drill.startedAt);
  const finished = Date.parse(drill.finishedAt);
  return {
    name: drill.name,
    // JUnit's schema wants a local date-time without zone or fraction; ours is UTC.
    timestamp: drill.startedAt.slice(0, 19),
    seconds: Number.isFinite(finished - started) ? Math.max(0, (finished - started) / 1000) : 0,
    properties: [
      ['status', drill.status],
      ['report', drill.reportPath],
      ['report.markdown', drill.markdownPath],
      // A demo key's report proves nothing: CI test views say so too.
      ...(drill.demoKey ? [['signing', 'demo key — not evidence']] : []),
      ...(drill.rto.actualSeconds !== null ? [['rto.actualSeconds', String(drill.rto.actualSeconds)]] : []),
      ...(drill.rto.targetSeconds !== null ? [['rto.targetSeconds', String(drill.rto.targetSeconds)]] : []),
      ...(drill.rpo.actualSeconds !== null ? [['rpo.actualSeconds', String(drill.rpo.actualSeconds)]] : []),
      ...(drill.rpo.targetSeconds !== null ? [['rpo.targetSeconds', String(drill.rpo.targetSeconds)]] : []),
    ] as [string, string][],
    cases,
  };
}

function classname(drillName: string): string {
  return `restore-drill.${reportSlug(drillName)}`;
}

function show(value: string | number | boolean | null): string {
  return value === null ? 'null' : String(value);
}

function seconds(value: number): string {
  return value.toFixed(3);
}

function attrs(values: Record<string, string | number>): string {
  return Object.entries(values)
    .map(([name, value]) => ` ${name}="${escapeXml(String(value), true)}"`)
    .join('');
}

function text(value: string): string {
  return escapeXml(value, false);
}

/**
 * Escapes text for XML 1.0: `&` `<` `>` always, `"` `'` in attributes (and line breaks there, which
 * parsers would otherwise turn into spaces), and drops characters XML 1.0 cannot carry at all (control
 * characters such as the ESC of terminal colours, lone surrogates).
 *
 * @example
 * escapeXml(`a < b & "c"`, true); // 'a &lt; b &amp; &quot;c&quot;'
 */
export function escapeXml(value: string, attribute: boolean): string {
  const legal = value.replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '');
  const escaped = legal.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  if (!attribute) return escaped;
  return escaped
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;')
    .replace(/\n/g, '&#10;')
    .replace(/\r/g, '&#13;')
    .replace(/\t/g, '&#9;');
}
