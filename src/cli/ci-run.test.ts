import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { generateKeyPair } from '../evidence/signing-key.ts';
import { startHttpReceiver, type HttpReceiver } from '../testing/http-receiver.ts';
import { runCliOnTerminal } from '../testing/run-on-terminal.ts';
import { markedShopDump } from '../testing/shop-database.ts';
import { parseStrictXml } from '../testing/strict-xml.ts';

const INDEX = fileURLToPath(new URL('../index.ts', import.meta.url));
let project: string;
let key: string;
let hook: HttpReceiver;

beforeAll(async () => {
  project = await mkdtemp(join(tmpdir(), 'ci-run-test-'));
  await mkdir(join(project, 'drills'));
  key = generateKeyPair(join(project, 'keys')).privatePath;
  hook = await startHttpReceiver();
  await markedShopDump(join(project, 'backups', 'shop.dump'));
  const drill = (name: string, orders: number) => `
import { expect } from 'vitest';
import { drill, fileSource } from ${JSON.stringify(INDEX)};
drill(${JSON.stringify(name)}, { source: fileSource('backups'), objectives: { rto: '1h' } }, async ({ db, check }) => {
  await check('orders are there', async () => {
    const { rows } = await db.query('select count(*)::int as n from orders');
    expect(rows[0].n).toBe(${orders});
  });
});
`;
  await writeFile(join(project, 'drills', 'good.drill.ts'), drill('shop passes', 2000));
  await writeFile(join(project, 'drills', 'bad.drill.ts'), drill('shop & <friends> fail', 1999));
});
afterAll(async () => {
  await hook?.stop();
  await rm(project, { recursive: true, force: true });
});

test('run on a terminal: a bar per drill fed by the workers; JUnit, summary, metrics and a notification from the main process', async () => {
  const args = [
    'run',
    '--report-dir',
    'reports',
    '--signing-key',
    key,
    '--notify',
    `${hook.url}/hook/secret`,
    '--metrics-file',
    'textfile/restore_drill.prom',
  ];
  const { code, output } = await runCliOnTerminal(args, { cwd: project });
  expect(code).toBe(1);
  // Bars drawn in the main process from the workers' progress lines, which never show up raw.
  expect(output).toMatch(/shop passes +█{24} restore 7\/7 tables/);
  expect(output).toMatch(/shop passes +█{24} passed/);
  expect(output).toMatch(/shop & <friends> fail +█{24} failed/);
  expect(output).not.toContain('\u001e');
  expect(output).not.toContain('restore-drill:progress');
  expect(output).toMatch(/\[shop passes\] restore: done \(7 tables with data\)/);
  expect(output).toMatch(/✗ shop & <friends> fail — FAILED/);
  expect(output).toMatch(/2 drills: 1 passed, 1 failed/);

  const junit = parseStrictXml(await readFile(join(project, 'reports', 'junit.xml'), 'utf8'));
  const suites = junit.children.filter((c) => c.name === 'testsuite');
  expect(suites.map((s) => s.attributes.name).sort()).toEqual(['shop & <friends> fail', 'shop passes']);
  expect(junit.attributes.failures).toBe('1');
  const failure = suites
    .find((s) => s.attributes.name === 'shop & <friends> fail')!
    .children.find((c) => c.attributes.name === 'orders are there')!.children[0]!;
  expect(failure).toMatchObject({ name: 'failure', attributes: { message: 'expected 1999, got 2000' } });

  const summary = await readFile(join(project, 'reports', 'summary.md'), 'utf8');
  expect(summary).toContain('## restore-drill: 1 of 2 drills did not pass');
  expect(summary).toMatch(
    /^\| shop &amp; &lt;friends&gt; fail \| ❌ failed \| .* \| orders are there: expected 1999, got 2000 \| \[/m,
  );

  const metrics = await readFile(join(project, 'textfile', 'restore_drill.prom'), 'utf8');
  expect(metrics).toMatch(/^restore_drill_verified\{drill="shop passes"\} 1$/m);
  expect(metrics).toMatch(/^restore_drill_verified\{drill="shop & <friends> fail"\} 0$/m);
  expect(metrics).toMatch(/^restore_drill_check_passed\{drill="shop & <friends> fail",check="orders are there"\} 0$/m);

  expect(hook.requests).toHaveLength(1);
  const message = JSON.parse(hook.requests[0]!.body);
  expect(message.drill).toBe('shop & <friends> fail');
  expect(message.text).toMatch(
    /^restore-drill: drill "shop &amp; &lt;friends&gt; fail" FAILED\n• orders are there: expected 1999, got 2000\nreport: .*reports\/\d{8}T\d{6}Z-shop-friends-fail\.report\.md\nledger head: \d+:sha256:[0-9a-f]{64}$/,
  );
});
