import { readdir, readFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { hasStackTrace, runCli } from '../testing/run-cli.ts';
import { generateDrills } from './generate-drills.ts';
import { defineFleet } from './inventory.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fleet-generate-test-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const fleet = defineFleet({
  defaults: { objectives: { rpo: '24h' }, controls: ['SOC2-A1.2'] },
  databases: [
    {
      name: 'billing',
      source: { kind: 's3', uri: 's3://acme-backups/billing/' },
      tags: ['tier-1', 'eu'],
      policies: [{ kind: 'freshness', maxAge: '26h' }],
    },
    {
      name: 'Orders "EU"',
      source: { kind: 'rds-snapshot', dbInstanceIdentifier: 'orders-prod' },
      environment: { kind: 'rds', instanceClass: 'db.t4g.micro' },
    },
    {
      name: 'audit',
      source: { kind: 'file', path: 'backups/audit' },
      restore: false,
      policies: [{ kind: 'retention', oldestAtLeast: '30d' }],
    },
  ],
});

test('one drill file per database plus the shared body; regenerating is idempotent; a change touches only its file', async () => {
  const outDir = join(dir, 'one');
  const first = await generateDrills(fleet, { outDir, inventory: 'fleet.yaml' });
  expect(first).toEqual([
    { file: 'audit.drill.ts', action: 'created' },
    { file: 'billing.drill.ts', action: 'created' },
    { file: 'fleet.body.ts', action: 'created' },
    { file: 'orders-eu.drill.ts', action: 'created' },
  ]);
  const billing = await readFile(join(outDir, 'billing.drill.ts'), 'utf8');
  expect(billing).toBe(
    [
      '// restore-drill:generated',
      '// Database "billing" of "fleet.yaml": edit the inventory and run `restore-drill generate` again;',
      '// this file is rewritten then. The checks every database gets are in ./fleet.body.ts.',
      '// tags: "tier-1", "eu"',
      'import { freshnessPolicy, s3DumpSource } from "restore-drill";',
      "import { fleetDrill } from './fleet.body.ts';",
      '',
      'fleetDrill("billing", {',
      '  source: s3DumpSource("s3://acme-backups/billing/"),',
      '  objectives: {"rpo":"24h"},',
      '  policies: [freshnessPolicy({ maxAge: "26h" })],',
      '  controls: ["SOC2-A1.2"],',
      '});',
      '',
    ].join('\n'),
  );
  expect(await readFile(join(outDir, 'orders-eu.drill.ts'), 'utf8')).toContain(
    'fleetDrill("Orders \\"EU\\"", {\n  source: rdsSnapshotSource({ dbInstanceIdentifier: "orders-prod" }),\n  environment: rdsInstance({ instanceClass: "db.t4g.micro" }),',
  );
  expect(await readFile(join(outDir, 'audit.drill.ts'), 'utf8')).toContain(
    '  restore: false,\n  policies: [retentionPolicy({ oldestAtLeast: "30d" })],',
  );

  // The user edits the shared body and adds a hand-written drill beside the generated ones.
  await writeFile(join(outDir, 'fleet.body.ts'), '// mine\n');
  await writeFile(join(outDir, 'special.drill.ts'), '// hand-written\n');
  const again = await generateDrills(fleet, { outDir, inventory: 'fleet.yaml' });
  expect(again.map((f) => f.action)).toEqual(['unchanged', 'unchanged', 'kept', 'unchanged', 'kept']);

  // billing's RPO changes, audit leaves the inventory, a new database comes.
  const changed = defineFleet({
    databases: [
      { ...fleet.databases[0]!, objectives: { rpo: '12h' } },
      fleet.databases[1]!,
      { name: 'crm', source: { kind: 'file', path: 'backups/crm' } },
    ],
  });
  const third = await generateDrills(changed, { outDir, inventory: 'fleet.yaml' });
  expect(Object.fromEntries(third.map((f) => [f.file, f.action]))).toEqual({
    'audit.drill.ts': 'removed',
    'billing.drill.ts': 'updated',
    'crm.drill.ts': 'created',
    'fleet.body.ts': 'kept',
    'orders-eu.drill.ts': 'unchanged',
    'special.drill.ts': 'kept',
  });
  expect((await readdir(outDir)).sort()).toEqual([
    'billing.drill.ts',
    'crm.drill.ts',
    'fleet.body.ts',
    'orders-eu.drill.ts',
    'special.drill.ts',
  ]);
  expect(await readFile(join(outDir, 'fleet.body.ts'), 'utf8')).toBe('// mine\n');
  expect(await readFile(join(outDir, 'special.drill.ts'), 'utf8')).toBe('// hand-written\n');
});

test('a hand-written drill where a database would be generated is refused, not overwritten', async () => {
  const outDir = join(dir, 'clash');
  await generateDrills(defineFleet({ databases: [{ name: 'x', source: { kind: 'file', path: 'b' } }] }), { outDir });
  await writeFile(join(outDir, 'billing.drill.ts'), '// mine\n');
  await expect(generateDrills(fleet, { outDir })).rejects.toThrow(
    /billing\.drill\.ts is hand-written, and a database of the inventory would be generated there/,
  );
  expect(await readFile(join(outDir, 'billing.drill.ts'), 'utf8')).toBe('// mine\n');
});

test('restore-drill generate: writes, reports what changed, and --check exits 1 when the files are out of date', async () => {
  const inventory = join(dir, 'fleet.yaml');
  const outDir = join(dir, 'cli');
  await writeFile(
    inventory,
    'databases:\n  - name: billing\n    source: { kind: file, path: backups/billing }\n    tags: [tier-1]\n' +
      '  - name: audit\n    source: { kind: file, path: backups/audit }\n',
  );
  // --tag: only billing's file.
  const made = await runCli(['generate', '--inventory', inventory, '--out', outDir, '--tag', 'tier-1', 'eu']);
  expect(made.stderr).toBe('');
  expect(made.stdout).toContain(`created    ${join(outDir, 'billing.drill.ts')}`);
  expect(made.stdout).toMatch(
    /^1 of 2 database\(s\) tagged tier-1, eu: 1 created, 0 updated, 0 removed, 0 unchanged$/m,
  );
  expect(made.code).toBe(0);
  expect(await readdir(outDir)).not.toContain('audit.drill.ts');
  // The tier-1 slice is up to date, whatever the rest of the inventory.
  expect(
    (await runCli(['generate', '--inventory', inventory, '--out', outDir, '--check', '--tag', 'tier-1'])).code,
  ).toBe(0);

  await writeFile(inventory, 'databases:\n  - name: billing\n    source: { kind: file, path: backups/billing-v2 }\n');
  const stale = await runCli(['generate', '--inventory', inventory, '--out', outDir, '--check']);
  expect(stale.stdout).toContain(`would be updated ${join(outDir, 'billing.drill.ts')}`);
  expect(stale.code).toBe(1);
  expect(await readFile(join(outDir, 'billing.drill.ts'), 'utf8')).toContain('backups/billing"');

  await writeFile(inventory, 'databases:\n  - name: billing\n    source: { kind: ftp }\n');
  const bad = await runCli(['generate', '--inventory', inventory, '--out', outDir]);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toMatch(
    /databases\[0\] "billing": source\.kind: unknown kind "ftp" \(known: file, s3, rds-snapshot\)/,
  );
  expect(bad.stderr.trim().split('\n').length).toBeLessThanOrEqual(2);
  expect(hasStackTrace(bad.stderr)).toBe(false);
});
