// Outside CI a check without a signing key signs with a demo key: every view of that report says
// "demo key — not evidence", and the control matrix counts it for nothing.
import { readdirSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { runCli } from '../testing/run-cli.ts';
import { markedShopDump } from '../testing/shop-database.ts';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'demo-key-test-'));
  await markedShopDump(join(dir, 'shop.dump'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('a demo-key report says so in its signed JSON, Markdown, HTML, summary, verify and controls', async () => {
  const reports = join(dir, 'reports');
  const home = join(dir, 'home');
  const out = await runCli(['check', '--dump', join(dir, 'shop.dump'), '--report-dir', reports], {
    env: { RESTORE_DRILL_HOME: home, RESTORE_DRILL_SIGNING_KEY: undefined },
  });
  expect(out.code, out.stderr).toBe(0);
  expect(out.stderr).toMatch(/made a local demo signing key \(not evidence: its reports say so\)/);
  expect(out.stdout).toMatch(/^✓ check shop\.dump — PASSED \(demo key — not evidence\)  restore /);

  const name = readdirSync(reports).find((n) => n.endsWith('.report.json'))!;
  const envelope = JSON.parse(await readFile(join(reports, name), 'utf8'));
  const predicate = JSON.parse(Buffer.from(envelope.payload, 'base64').toString('utf8')).predicate;
  expect(predicate.signing).toEqual({ demoKey: true });
  expect(await readFile(join(reports, name.replace('.json', '.md')), 'utf8')).toContain('**Demo key — not evidence.**');
  expect(await readFile(join(reports, name.replace('.json', '.html')), 'utf8')).toContain('DEMO KEY — NOT EVIDENCE');
  expect(await readFile(join(reports, 'index.html'), 'utf8')).toContain(
    '1 report(s) signed with a demo key — not evidence.',
  );
  expect(await readFile(join(reports, 'summary.md'), 'utf8')).toContain('✅ passed (demo key — not evidence)');
  expect(await readFile(join(reports, 'junit.xml'), 'utf8')).toContain(
    '<property name="signing" value="demo key — not evidence"/>',
  );

  const publicKey = join(home, 'keys', 'signing-key.pub.pem');
  const verify = await runCli(['verify', join(reports, name), '--key', publicKey]);
  expect(verify.code).toBe(0);
  expect(verify.stdout).toContain('passed at');
  expect(verify.stdout).toContain('(signed with a demo key — not evidence)');

  const controls = await runCli(['controls', reports, '--key', publicKey, '--format', 'json']);
  const matrix = JSON.parse(controls.stdout);
  expect(matrix.controls[0]).toMatchObject({ runs: 0, passed: 0, demoKeyRuns: 1, latest: null });
});
