import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { generateKeyPair } from '../evidence/signing-key.ts';
import { verifyReportFile } from '../evidence/report-verifier.ts';
import { loadPublicKey } from '../evidence/signing-key.ts';
import { startHttpReceiver, type HttpReceiver } from '../testing/http-receiver.ts';
import { hasStackTrace, runCli } from '../testing/run-cli.ts';
import { runCliOnTerminal } from '../testing/run-on-terminal.ts';
import { markedShopDump } from '../testing/shop-database.ts';
import { parseStrictXml } from '../testing/strict-xml.ts';
import { freePort } from '../util/free-port.ts';

let dir: string;
let key: string;
let good: string;
// One receiver per test: the tests run at the same time.
let quietHook: HttpReceiver;
let hook: HttpReceiver;
let failingHook: HttpReceiver;
let gateway: HttpReceiver;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ci-check-test-'));
  key = generateKeyPair(join(dir, 'keys')).privatePath;
  [quietHook, hook, failingHook, gateway] = await Promise.all([
    startHttpReceiver(),
    startHttpReceiver(),
    startHttpReceiver(500),
    startHttpReceiver(),
  ]);
  good = await markedShopDump(join(dir, 'good.dump'));
});
afterAll(async () => {
  await Promise.all([quietHook?.stop(), hook?.stop(), failingHook?.stop(), gateway?.stop()]);
  await rm(dir, { recursive: true, force: true });
});

const check = (dump: string, reportDir: string, extra: string[] = [], env: Record<string, string> = {}) =>
  runCli(['check', '--dump', dump, '--report-dir', join(dir, reportDir), '--signing-key', key, ...extra], { env });

// Each test runs the CLI in its own processes and report directory; running them at once halves the wall time.
describe.concurrent('restore-drill check in CI', () => {
  test('passed drill, not a terminal: plain log lines; junit.xml, summary.md, job summary and Pushgateway; nothing notified; a metrics failure is a warning', async () => {
    const stepSummary = join(dir, 'step-summary.md');
    await writeFile(stepSummary, '# earlier step\n');
    const blocked = join(dir, 'blocked');
    await writeFile(blocked, 'a file, so no directory can be made here');
    const hookUrl = `${quietHook.url}/services/T0/B0/passed-secret`;
    const out = await check(
      good,
      'passed',
      [
        '--rto',
        '1h',
        '--notify',
        hookUrl,
        '--pushgateway',
        gateway.url,
        '--metrics-file',
        join(blocked, 'restore_drill.prom'),
      ],
      {
        GITHUB_STEP_SUMMARY: stepSummary,
        GITHUB_SERVER_URL: 'https://github.com',
        GITHUB_REPOSITORY: 'acme/db',
        GITHUB_RUN_ID: '42',
      },
    );
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(/✓ check good\.dump — PASSED/);

    // CI logs: the plain lines, no bars, no cursor movement, no progress records.
    expect(out.stderr).toMatch(/^\[check good\.dump\] restore: done \(7 tables with data\)$/m);
    expect(out.stderr).toMatch(/^\[check good\.dump\] verify: comparing 7 tables against the manifest$/m);
    expect(out.stderr).not.toMatch(/[\u001b\u001e█░]/);
    expect(out.stderr).toMatch(
      /^restore-drill: warning: cannot write metrics to .*blocked\/restore_drill\.prom: E(EXIST|NOTDIR)$/m,
    );
    expect(hasStackTrace(out.stderr)).toBe(false);
    expect(quietHook.requests).toEqual([]);

    const junit = parseStrictXml(await readFile(join(dir, 'passed', 'junit.xml'), 'utf8'));
    const [suite] = junit.children;
    const reportPath = suite!.children[0]!.children.find((p) => p.attributes.name === 'report')!.attributes.value!;
    const { report } = await verifyReportFile(reportPath, loadPublicKey(key));
    expect(suite!.attributes).toMatchObject({
      name: 'check good.dump',
      tests: String(report!.checks.length),
      failures: '0',
      errors: '0',
    });
    expect(suite!.children.filter((c) => c.name === 'testcase').map((c) => c.attributes.name)).toEqual(
      report!.checks.map((c) => c.name),
    );

    const summary = await readFile(join(dir, 'passed', 'summary.md'), 'utf8');
    expect(summary).toMatch(
      /^\| check good\.dump \| ✅ passed \| [\d.]+s \| [\d.]+s \/ 1h 00m ✅ \| .* \| – \| \[\d{8}T\d{6}Z-check-good-dump\.report\.md\]\(\d{8}T\d{6}Z-check-good-dump\.report\.md\) \|$/m,
    );
    // The restore-time forecast of forecast.ts, one line (one run is not enough history, but the line is there).
    expect(summary).toMatch(/^Forecast — check good\.dump: .+$/m);
    const step = await readFile(stepSummary, 'utf8');
    expect(step.startsWith('# earlier step\n## restore-drill: all 1 drill passed\n')).toBe(true);
    expect(step).toContain(
      'Signed reports: [https://github.com/acme/db/actions/runs/42](https://github.com/acme/db/actions/runs/42)',
    );

    expect(gateway.requests).toHaveLength(1);
    expect(gateway.requests[0]).toMatchObject({
      method: 'PUT',
      url: '/metrics/job/restore_drill/drill/check%20good.dump',
    });
    expect(gateway.requests[0]!.body).toMatch(/^restore_drill_verified 1$/m);
    expect(gateway.requests[0]!.body).toMatch(
      /^restore_drill_check_passed\{check="checksum public\.orders \(manifest\)"\} 1$/m,
    );
  });

  test('on a terminal: a progress bar per phase, tables done of total during restore and verify', async () => {
    const metrics = join(dir, 'textfile', 'restore_drill.prom');
    const out = await runCliOnTerminal([
      'check',
      '--dump',
      good,
      '--report-dir',
      join(dir, 'tty'),
      '--signing-key',
      key,
      '--metrics-file',
      metrics,
    ]);
    expect(out.code).toBe(0);
    expect(out.output).toMatch(/check good\.dump +█+░* restore \d\/7 tables/);
    expect(out.output).toMatch(/check good\.dump +█{24} restore 7\/7 tables/);
    expect(out.output).toMatch(/check good\.dump +█{24} verify 7\/7 tables/);
    expect(out.output).toMatch(/check good\.dump +█{24} passed/);
    expect(out.output).toMatch(/\[check good\.dump\] restore: done \(7 tables with data\)/);
    expect(out.output).toContain('\u001b[?25h'); // the cursor is given back
    expect(out.output).toMatch(/✓ check good\.dump — PASSED/);
    expect(await readFile(metrics, 'utf8')).toMatch(/^restore_drill_verified\{drill="check good\.dump"\} 1$/m);
  });

  test('failed drill: the webhook receives the drill, its error and the report path; a 500 and a refused push are warnings, exit 1 as without them; bad flags are usage errors', async () => {
    const missing = join(dir, 'missing.dump');
    const refused = `http://127.0.0.1:${await freePort()}`;
    const [notified, warned, badNotify, badMetrics] = await Promise.all([
      check(missing, 'failed', ['--notify', `${hook.url}/services/T0/B0/failed-secret`]),
      check(missing, 'failed-warned', [
        '--notify',
        `${failingHook.url}/services/T0/B0/secret-500`,
        '--pushgateway',
        refused,
      ]),
      check(good, 'usage', ['--notify', 'hooks.slack.com/services/x']),
      check(good, 'usage', ['--metrics-file', join(dir, 'restore_drill.txt')]),
    ]);
    expect(notified.code).toBe(1);
    expect(hook.requests).toHaveLength(1);
    const request = hook.requests[0]!;
    expect(request).toMatchObject({ method: 'POST', url: '/services/T0/B0/failed-secret' });
    const message = JSON.parse(request.body);
    expect(message).toMatchObject({ drill: 'check missing.dump', status: 'failed' });
    expect(message.text).toMatch(
      /^restore-drill: drill "check missing\.dump" FAILED\nerror: locate: backup path not found: .*missing\.dump .*\nreport: .*\/failed\/\d{8}T\d{6}Z-check-missing-dump\.report\.md\nledger head: \d+:sha256:[0-9a-f]{64}$/,
    );
    expect(message.report).toMatch(/\/failed\/\d{8}T\d{6}Z-check-missing-dump\.report\.json$/);
    expect(message.ledger).toEqual({
      position: expect.any(Number),
      digest: expect.stringMatching(/^sha256:[0-9a-f]{64}$/),
    });

    expect(warned.code).toBe(1);
    expect(failingHook.requests).toHaveLength(1);
    const warnings = warned.stderr.split('\n').filter((l) => l.includes('warning'));
    expect(warnings).toEqual([
      // --notify on the command line: the URL's token is in the process list.
      'restore-drill: warning: --notify holds a webhook URL, whose path is its token, and the process list shows it while the command runs: set RESTORE_DRILL_NOTIFY instead',
      `restore-drill: warning: notification for drill "check missing.dump" to ${failingHook.url}/… failed: HTTP 500 Internal Server Error`,
      `restore-drill: warning: metrics push for drill "check missing.dump" to ${refused} failed: ECONNREFUSED`,
    ]);
    expect(warned.stderr).not.toContain('secret-500');
    expect(warned.stdout).toMatch(/✗ check missing\.dump — FAILED/);

    // Checked before anything runs: a usage error, no report.
    expect(badNotify.stderr).toBe(
      'restore-drill: --notify needs an http:// or https:// URL — e.g. --notify https://hooks.slack.com/services/…\n',
    );
    expect(badMetrics.stderr).toMatch(
      /^restore-drill: --metrics-file .*restore_drill\.txt does not end in \.prom — node_exporter's textfile collector reads only \*\.prom files\n$/,
    );
    for (const out of [badNotify, badMetrics]) expect(out.code).toBe(2);
    expect(existsSync(join(dir, 'usage'))).toBe(false);
  });
});
