import { expect, test } from 'vitest';
import { sampleDrillMeta } from './ci-summary.fixture.ts';
import { renderCiSummary } from './ci-summary.ts';

const failed = sampleDrillMeta({
  name: 'orders | eu <b>',
  status: 'failed',
  markdownPath: 'reports/20261123T180000Z-orders-eu-b.report.md',
  rpo: { actualSeconds: 90000, targetSeconds: 3600, met: false, basis: 'metadata' },
  checks: [
    { name: 'restore completed', status: 'passed', expected: true, actual: true },
    ...[1, 2, 3, 4].map((i) => ({
      name: `checksum public.t${i} (manifest)`,
      status: 'failed' as const,
      expected: 'a|b',
      actual: 'c',
    })),
  ],
});
const errored = sampleDrillMeta({
  name: 'broken',
  status: 'error',
  error: 'provision: PostgreSQL did not start',
  restoreSeconds: null,
  rto: { actualSeconds: null, targetSeconds: 900, met: null },
});
const run = {
  drills: [sampleDrillMeta(), failed, errored],
  notRun: [{ name: 'drills/bad.drill.ts', reason: 'could not be loaded: x' }],
};

test('a table row per drill: status, restore time, RTO and RPO against targets, failed checks, report link', () => {
  const md = renderCiSummary(run, { links: 'relative', reportDir: 'reports' });
  const lines = md.trimEnd().split('\n');
  expect(lines[0]).toBe('## restore-drill: 3 of 4 drills did not pass');
  // Before the table: each drill that did not pass, with why.
  expect(lines.slice(2, 15)).toEqual([
    '- ❌ failed **orders \\| eu &lt;b&gt;**',
    ...[1, 2, 3, 4].map((i) => `  - checksum public.t${i} (manifest): expected a\\|b, got c`),
    '- ⚠️ error **broken**',
    '  - error in provision: PostgreSQL did not start',
    '- ⚠️ not run **drills/bad.drill.ts**',
    '  - could not be loaded: x',
    '',
    '| drill | status | restore | RTO | RPO | failed checks | report |',
    '|---|---|---|---|---|---|---|',
    expect.stringMatching(/^\| shop restores \| ✅ passed /),
  ]);
  lines.splice(0, 12, '## restore-drill: 3 of 4 drills did not pass', '');
  expect(lines[2]).toBe('| drill | status | restore | RTO | RPO | failed checks | report |');
  expect(lines[4]).toBe(
    '| shop restores | ✅ passed | 2m 30s | 3m 07s / 15m 00s ✅ | 1h 00m / 3h 00m ✅ | – | [20261123T175533Z-shop-restores.report.md](20261123T175533Z-shop-restores.report.md) |',
  );
  expect(lines[5]).toBe(
    '| orders \\| eu &lt;b&gt; | ❌ failed | 2m 30s | 3m 07s / 15m 00s ✅ | 1d 01h / 1h 00m ❌ | ' +
      'checksum public.t1 (manifest): expected a\\|b, got c<br>checksum public.t2 (manifest): expected a\\|b, got c<br>checksum public.t3 (manifest): expected a\\|b, got c<br>… 1 more | ' +
      '[20261123T180000Z-orders-eu-b.report.md](20261123T180000Z-orders-eu-b.report.md) |',
  );
  expect(lines[6]).toMatch(
    /^\| broken \| ⚠️ error \| – \| – \| 1h 00m \/ 3h 00m ✅ \| provision: PostgreSQL did not start \| /,
  );
  expect(lines[7]).toBe('| drills/bad.drill.ts | ⚠️ not run | – | – | – | could not be loaded: x | – |');
  // every row has the header's 7 columns (escaped pipes do not count)
  for (const line of lines.slice(2, 8)) expect(line.replace(/\\\|/g, '').split('|')).toHaveLength(9);
});

test('for a job summary: report paths as text and one link to the uploaded reports', () => {
  const md = renderCiSummary(
    { drills: [sampleDrillMeta()], notRun: [] },
    {
      links: 'path',
      reportDir: 'reports',
      reportsUrl: 'https://github.com/o/r/actions/runs/42',
      forecast: 'restore time grows 3%/month: RTO reached in 2027-04',
    },
  );
  expect(md).toContain('## restore-drill: all 1 drill passed');
  expect(md).toContain('| `reports/20261123T175533Z-shop-restores.report.md` |');
  expect(md).toContain(
    'Signed reports: [https://github.com/o/r/actions/runs/42](https://github.com/o/r/actions/runs/42) (artifact `reports`)',
  );
  expect(md).toContain('restore time grows 3%/month: RTO reached in 2027-04');
});

test('a skipped drill is named in the headline and has its own row with why: not verified, not passed', () => {
  const md = renderCiSummary(
    {
      drills: [sampleDrillMeta()],
      notRun: [],
      skipped: [{ name: 'shop at a moment', reason: 'pgbackrest is not installed' }],
    },
    { links: 'relative', reportDir: 'reports' },
  );
  expect(md.split('\n')[0]).toBe('## restore-drill: all 1 drill passed; 1 skipped, not verified');
  expect(md).toContain('| shop at a moment | ⏭️ skipped | – | – | – | pgbackrest is not installed | – |');
});

test('what each drill did not verify follows the table', () => {
  const partial = sampleDrillMeta({
    name: 'shop_eu',
    notVerified: ['tables without a marker (1): public.audit_log', 'objects not fingerprinted: functions'],
  });
  const md = renderCiSummary(
    { drills: [sampleDrillMeta(), partial], notRun: [] },
    { links: 'relative', reportDir: 'reports' },
  );
  expect(md).toContain(
    '**Not verified** (not covered by the results above):\n\n- shop\\_eu: tables without a marker (1): public.audit\\_log; objects not fingerprinted: functions\n',
  );
});

test('a demo-key run says so in its status and above the table', () => {
  const md = renderCiSummary(
    { drills: [sampleDrillMeta({ demoKey: true })], notRun: [] },
    { links: 'relative', reportDir: 'reports' },
  );
  expect(md).toContain('> ⚠️ **1 report(s) signed with a demo key — not evidence.**');
  expect(md).toContain('| shop restores | ✅ passed (demo key — not evidence) |');
});
