import { expect, test } from 'vitest';
import { sampleReport } from '../../model/sample-report.fixture.ts';
import { renderHtmlReport } from './html-report.ts';

const signature = { state: 'unchecked', keyid: null } as const;

test('the page lists what was not verified, each item escaped, after the checks', () => {
  const report = sampleReport({
    notVerified: [
      { kind: 'table', name: 'public.<audit>', reason: 'no-marker', detail: 'in the restored copy but in no marker' },
      { kind: 'cluster', name: 'roles, tablespaces', reason: 'cluster-wide', detail: 'not carried by a dump' },
    ],
  });
  const html = renderHtmlReport({ report, jsonFile: 'x.report.json', signature });
  const section = html.slice(html.indexOf('<h2>Not verified</h2>'));
  expect(html.indexOf('<h2>Checks</h2>')).toBeLessThan(html.indexOf('<h2>Not verified</h2>'));
  expect(section).toContain(
    '<li>tables without a marker (1): public.&lt;audit&gt;</li><li>cluster-wide, not compared: roles, tablespaces</li>',
  );
  expect(section).toContain(
    '<tr data-reason="no-marker"><td>table</td><td class="mono">public.&lt;audit&gt;</td><td>no-marker</td><td>in the restored copy but in no marker</td></tr>',
  );
});

test('a report from before the list says it was not recorded', () => {
  const html = renderHtmlReport({ report: sampleReport(), jsonFile: 'x.report.json', signature });
  expect(html).toContain(
    '<h2>Not verified</h2>\n<ul class="not-verified"><li>not recorded (this report predates the list of what was not verified)</li></ul>',
  );
});
