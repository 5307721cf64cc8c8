import { afterAll, beforeAll, expect, test } from 'vitest';
import { sampleDrillMeta } from '../views/ci-summary.fixture.ts';
import { freePort } from '../util/free-port.ts';
import { startHttpReceiver, type HttpReceiver } from '../testing/http-receiver.ts';
import { describeEndpoint, parseEndpoint } from '../util/endpoint.ts';
import { buildNotification, notifyFailures } from './webhook.ts';

let hook: HttpReceiver;
beforeAll(async () => {
  hook = await startHttpReceiver();
});
afterAll(async () => {
  await hook?.stop();
});

const failedChecks = Array.from({ length: 7 }, (_, i) => ({
  name: `row count public.t${i} (manifest)`,
  status: 'failed' as const,
  expected: 100,
  actual: 99 - i,
}));
const failed = sampleDrillMeta({
  name: 'orders <prod>',
  status: 'failed',
  checks: [{ name: 'restore completed', status: 'passed', expected: true, actual: true }, ...failedChecks],
});
const errored = sampleDrillMeta({
  name: 'broken',
  status: 'error',
  error: 'provision: local PostgreSQL did not start',
  checks: [],
});

test('a failed and an errored drill each POST a Slack-compatible message; a passed drill sends nothing', async () => {
  const warnings: string[] = [];
  const url = new URL(`${hook.url}/services/T000/B000/secret-token`);
  await notifyFailures(url, [sampleDrillMeta(), failed, errored], (line) => warnings.push(line));
  expect(warnings).toEqual([]);
  expect(hook.requests).toHaveLength(2);
  const [first, second] = hook.requests;
  expect(first).toMatchObject({ method: 'POST', url: '/services/T000/B000/secret-token' });
  expect(first!.headers['content-type']).toBe('application/json');
  const message = JSON.parse(first!.body);
  expect(message.text).toBe(
    [
      'restore-drill: drill "orders &lt;prod&gt;" FAILED',
      ...failedChecks.slice(0, 5).map((c) => `• ${c.name}: expected 100, got ${c.actual}`),
      '… and 2 more failed checks',
      'report: reports/20261123T175533Z-shop-restores.report.md',
    ].join('\n'),
  );
  expect(message).toMatchObject({
    drill: 'orders <prod>',
    status: 'failed',
    report: 'reports/20261123T175533Z-shop-restores.report.json',
  });
  expect(message.failedChecks).toHaveLength(5);
  const second_ = JSON.parse(second!.body);
  expect(second_.text).toMatch(
    /^restore-drill: drill "broken" ERROR\nerror: provision: local PostgreSQL did not start\nreport: /,
  );
});

test('a 500 or a refused connection is one warning line that does not show the URL path', async () => {
  const warnings: string[] = [];
  hook.status = 500;
  try {
    await notifyFailures(new URL(`${hook.url}/services/T000/B000/secret-token`), [failed], (line) =>
      warnings.push(line),
    );
  } finally {
    hook.status = 200;
  }
  const closed = `http://127.0.0.1:${await freePort()}`;
  await notifyFailures(new URL(`${closed}/hook?token=secret-token`), [failed], (line) => warnings.push(line));
  expect(warnings).toEqual([
    `restore-drill: warning: notification for drill "orders <prod>" to ${hook.url}/… failed: HTTP 500 Internal Server Error`,
    `restore-drill: warning: notification for drill "orders <prod>" to ${closed}/… failed: ECONNREFUSED`,
  ]);
  expect(warnings.join('\n')).not.toContain('secret-token');
});

test('endpoints: only http(s), and described without path, query or password', () => {
  expect(() => parseEndpoint('ftp://example.com/x', '--notify')).toThrow('--notify needs an http:// or https:// URL');
  expect(() => parseEndpoint('hooks.slack.com/x', '--notify')).toThrow('--notify needs an http:// or https:// URL');
  expect(describeEndpoint('https://user:pw@hooks.example.com:8443/services/T/B/x?y=1')).toBe(
    'https://hooks.example.com:8443/…',
  );
  expect(describeEndpoint('http://pushgateway:9091')).toBe('http://pushgateway:9091');
});

test('the message carries the ledger head of the report, as a field and a line of text', () => {
  const head = { position: 17, digest: `sha256:${'a'.repeat(64)}` };
  const message = buildNotification({ ...failed, ledger: head } as typeof failed & { status: 'failed' });
  expect(message.ledger).toEqual(head);
  expect(message.text.split('\n')).toContain(`ledger head: 17:sha256:${'a'.repeat(64)}`);
});

test('the message links the CI run instead of a path on the runner, and gives each failed check its reason', () => {
  const drill = sampleDrillMeta({
    name: 'shop',
    status: 'failed',
    demoKey: true,
    checks: [
      { name: 'no negative totals', status: 'failed', expected: 0, actual: 3, detail: 'expected 0, received 3' },
    ],
  }) as Parameters<typeof buildNotification>[0];
  const message = buildNotification(drill, { runUrl: 'https://github.com/acme/db/actions/runs/42' });
  expect(message.text).toBe(
    [
      'restore-drill: drill "shop" FAILED (demo key — not evidence)',
      '• no negative totals: expected 0, got 3',
      'run: https://github.com/acme/db/actions/runs/42 (report 20261123T175533Z-shop-restores.report.md)',
    ].join('\n'),
  );
  expect(message).toMatchObject({ runUrl: 'https://github.com/acme/db/actions/runs/42', demoKey: true });
});
