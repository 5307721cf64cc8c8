import { describe, expect, it } from 'vitest';
import { renderMarkdown } from './markdown.ts';
import { sampleReport } from '../model/sample-report.fixture.ts';

describe('renderMarkdown', () => {
  const markdown = renderMarkdown(sampleReport(), {
    jsonFile: '20261123T175533Z-orders.report.json',
    keyid: 'sha256:abc',
  });

  it('shows the drill name as plain text: no heading, link, emphasis or HTML can be smuggled in through it', () => {
    const name = 'x\n# ✅ PASSED [verify](https://evil.example) <img src=x onerror=alert(1)> *all* `ok`';
    const title = renderMarkdown({ ...sampleReport(), drill: { name, file: null } }).split('\n')[0]!;
    expect(title).toBe(
      '# Restore drill: x \\# ✅ PASSED \\[verify\\]\\(https://evil\\.example\\) \\<img src=x onerror=alert\\(1\\)\\> \\*all\\* \\`ok\\` — ❌ FAILED',
    );
  });

  it('titles the report with the drill name and its status', () => {
    expect(markdown.split('\n')[0]).toBe('# Restore drill: Orders DB: nightly dump — ❌ FAILED');
    expect(renderMarkdown(sampleReport({ status: 'passed' })).split('\n')[0]).toContain('PASSED');
    expect(renderMarkdown(sampleReport({ status: 'error' })).split('\n')[0]).toContain('ERROR');
  });

  it('shows the recovery point and where its time came from', () => {
    expect(markdown).toContain('| Id | backups/orders-2026-11-23.dump |');
    expect(markdown).toContain('| Created at | 2026-11-23T03:00:00.000Z (from manifest) |');
    expect(markdown).toContain('| Newest marker | 2026-11-23T02:59:58.000Z |');
    expect(markdown).toContain('| encrypted | false |');
  });

  it('formats objectives for people, with target, actual and whether met', () => {
    expect(markdown).toContain('| RTO | 15m 00s | 3m 07s | ✅ yes |');
    expect(markdown).toContain('| RPO | 8h 00m | 14h 52m | ❌ no |');
    expect(markdown).toContain('Achieved RPO measured from the newest marker in the restored data.');
  });

  it('says which time limit the drill ran under', () => {
    expect(renderMarkdown(sampleReport({ timeLimit: { seconds: 1800 * 2, basis: 'rto' } }))).toContain(
      'Time limit: 1h 00m (twice the RTO, at least 1h).',
    );
    expect(renderMarkdown(sampleReport({ timeLimit: { seconds: 21600, basis: 'default' } }))).toContain(
      'Time limit: 6h 00m (the default without a timeLimit or an RTO).',
    );
  });

  it("says when RPO came from the recovery point's creation time", () => {
    const report = sampleReport();
    const metadata = sampleReport({
      objectives: { ...report.objectives, rpo: { ...report.objectives.rpo, basis: 'metadata' } },
    });
    expect(renderMarkdown(metadata)).toContain(
      "Achieved RPO measured from the recovery point's creation time (no markers found).",
    );
  });

  it('lists phases and every check with its status, escaping pipes in cells', () => {
    expect(markdown).toContain('| restore | 2026-11-23T17:52:29.500Z | 2m 30s | ok |');
    expect(markdown).toContain('| ✅ | row count | public.orders | 1200 | 1200 |  |');
    expect(markdown).toContain(
      '| ❌ | checksum | public.order_items | 9f2c | 77aa | range id 1000..1999 differs \\| 3 rows |',
    );
    expect(markdown).toContain('| ⏭️ | freshness |  | — | — | restore failed |');
    expect(markdown).toContain('**1 failed**, 1 passed, 1 skipped.');
  });

  it('leads a failed report with its failed checks and their reasons, before the recovery point', () => {
    const report = sampleReport({
      checks: [
        { name: 'row count', status: 'passed', expected: 1, actual: 1 },
        {
          name: 'no negative totals',
          status: 'failed',
          expected: 0,
          actual: 3,
          detail: 'expected 0, received 3',
          queries: ['select count(*) from orders where total < 0'],
        },
      ],
    });
    const markdown = renderMarkdown(report);
    const failures = markdown.indexOf('## Failed checks (1)');
    expect(failures).toBeGreaterThan(0);
    expect(failures).toBeLessThan(markdown.indexOf('## Recovery point'));
    expect(markdown).toContain('- ❌ no negative totals: expected 0, got 3\n');
    expect(markdown).toContain('```sql\nselect count(*) from orders where total < 0;\n```');
    // In the checks table too, the failed check comes first.
    expect(markdown.indexOf('| ❌ | no negative totals')).toBeLessThan(markdown.indexOf('| ✅ | row count'));
  });

  it('says "demo key — not evidence" at the top and beside the key of a demo-key report', () => {
    const markdown = renderMarkdown(sampleReport({ signing: { demoKey: true } }), {
      jsonFile: 'x.report.json',
      keyid: 'sha256:ab',
    });
    expect(markdown.split('\n')[4]).toMatch(/^> ⚠️ \*\*Demo key — not evidence\.\*\* /);
    expect(markdown).toContain('signed with key `sha256:ab` (demo key — not evidence)');
    expect(renderMarkdown(sampleReport({ signing: { demoKey: false } }))).not.toContain('demo key');
  });

  it('keeps multi-line values inside their table cell', () => {
    const report = sampleReport({
      checks: [{ name: 'custom sql', status: 'failed', expected: 'a\nb', actual: 'c', detail: 'x\r\ny' }],
    });
    expect(renderMarkdown(report)).toContain('| ❌ | custom sql |  | a<br>b | c | x<br>y |');
  });

  it('shows the error and where it happened', () => {
    const report = sampleReport({
      status: 'error',
      error: { phase: 'restore', message: 'pg_restore exited with code 1' },
    });
    expect(renderMarkdown(report)).toContain('In phase **restore**: pg_restore exited with code 1');
    expect(markdown).not.toContain('## Error');
  });

  it('ends with the signed file, the key id and how to verify it', () => {
    expect(markdown).toContain('`sha256:abc`');
    expect(markdown).toContain('restore-drill verify 20261123T175533Z-orders.report.json --key PUB.pem');
  });

  it('lists what was not verified, and says so when a report predates the list', () => {
    const report = sampleReport({
      notVerified: [
        {
          kind: 'table',
          name: 'public.audit_log',
          reason: 'no-marker',
          detail: 'in the restored copy but in no marker',
        },
        { kind: 'table', name: 'public.sessions', reason: 'count-only', detail: 'only its row count was compared' },
      ],
    });
    const md = renderMarkdown(report);
    expect(md).toContain(
      '## Not verified\n\n- tables without a marker (1): public.audit_log\n- tables compared by row count only (1): public.sessions\n',
    );
    expect(md).toContain('| table | public.audit_log | no-marker | in the restored copy but in no marker |');
    expect(markdown).toContain(
      '## Not verified\n\n- not recorded (this report predates the list of what was not verified)',
    );
  });
});
