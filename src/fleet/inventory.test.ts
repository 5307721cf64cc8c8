import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ConfigError } from '../errors.ts';
import { defineFleet, loadInventory } from './inventory.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fleet-inventory-test-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function inventory(text: string, name = 'fleet.yaml'): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

async function errorOf(text: string): Promise<string> {
  const error = await loadInventory(await inventory(text)).then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ConfigError);
  return (error as Error).message;
}

test('a YAML inventory: defaults apply to every database that leaves a field out, its own value wins', async () => {
  const fleet = await loadInventory(
    await inventory(`
defaults:
  objectives: { rto: 4h, rpo: 24h }
  policies: [{ kind: freshness, maxAge: 26h }]
  controls: [SOC2-A1.2]
databases:
  - name: billing
    source: { kind: s3, uri: s3://acme-backups/billing/ }
    tags: [tier-1]
  - name: orders
    source: { kind: rds-snapshot, dbInstanceIdentifier: orders-prod, region: eu-west-1 }
    environment: { kind: rds, instanceClass: db.t4g.micro }
    objectives: { rto: 8h }
`),
  );
  expect(fleet.databases.map((d) => d.name)).toEqual(['billing', 'orders']);
  expect(fleet.databases[0]).toMatchObject({
    objectives: { rto: '4h', rpo: '24h' },
    controls: ['SOC2-A1.2'],
    tags: ['tier-1'],
  });
  expect(fleet.databases[1]).toMatchObject({
    objectives: { rto: '8h' },
    policies: [{ kind: 'freshness', maxAge: '26h' }],
    environment: { kind: 'rds', instanceClass: 'db.t4g.micro' },
  });
});

describe('bad inventories: one line naming the entry and the field', () => {
  test.each([
    [
      'an unknown source',
      `databases:\n  - name: a\n    source: { kind: file, path: x }\n  - name: ledger\n    source: { kind: ftp, host: x }\n`,
      /fleet\.yaml: databases\[1\] "ledger": source\.kind: unknown kind "ftp" \(known: file, s3, rds-snapshot\)$/,
    ],
    [
      'a duplicate name',
      `databases:\n  - name: a\n    source: { kind: file, path: x }\n  - name: a\n    source: { kind: file, path: y }\n`,
      /databases\[1\] "a": duplicate name \(databases\[0\] has it too\)$/,
    ],
    [
      'two names with one file name',
      `databases:\n  - name: Billing DB\n    source: { kind: file, path: x }\n  - name: billing-db\n    source: { kind: file, path: y }\n`,
      /databases\[1\] "billing-db": its file name billing-db\.drill\.ts is the same as "Billing DB"'s$/,
    ],
    [
      'a bad duration',
      `databases:\n  - name: a\n    source: { kind: file, path: x }\n    objectives: { rto: 4 hours }\n`,
      /databases\[0\] "a": objectives\.rto: a duration like 90s/,
    ],
    [
      'a misspelt field',
      `databases:\n  - name: a\n    source: { kind: file, path: x }\n    objectivs: { rto: 4h }\n`,
      /databases\[0\] "a": unknown field objectivs$/,
    ],
    ['a missing source', `databases:\n  - name: a\n`, /databases\[0\] "a": source: missing$/],
    [
      'an unknown policy',
      `databases:\n  - name: a\n    source: { kind: file, path: x }\n    policies: [{ kind: vibes }]\n`,
      /databases\[0\] "a": policies\[0\]\.kind: unknown kind "vibes"/,
    ],
    [
      'a policy-only drill without policies',
      `databases:\n  - name: a\n    source: { kind: file, path: x }\n    restore: false\n`,
      /databases\[0\] "a": restore: false with no policies checks nothing$/,
    ],
    [
      'a name that would end a comment',
      `databases:\n  - name: "a\\u2028x"\n    source: { kind: file, path: x }\n`,
      /databases\[0\] "a\\u2028x": name: printable text on one line$/,
    ],
    [
      'an RDS source naming neither instance nor cluster',
      `databases:\n  - name: a\n    source: { kind: rds-snapshot }\n`,
      /source needs exactly one of dbInstanceIdentifier and dbClusterIdentifier$/,
    ],
    ['no databases', `databases: []\n`, /fleet\.yaml: databases: list at least one database$/],
    ['not YAML', `databases:\n  - name: a\n   source: [\n`, /fleet\.yaml:\d+: not valid YAML: /],
    [
      'a duplicate key',
      `databases:\n  - name: a\n    name: b\n    source: { kind: file, path: x }\n`,
      /not valid YAML: Map keys must be unique/,
    ],
  ])('%s', async (_what, text, message) => {
    expect(await errorOf(text)).toMatch(message);
  });

  test('a missing inventory file', async () => {
    await expect(loadInventory(join(dir, 'nope.yaml'))).rejects.toThrow(
      /cannot read the inventory .*nope\.yaml: ENOENT/,
    );
  });
});

test('defineFleet() checks like the YAML, and a TypeScript module exporting it is read by loadInventory', async () => {
  expect(() =>
    defineFleet({
      databases: [
        { name: 'a', source: { kind: 'file', path: 'x' } },
        { name: 'a', source: { kind: 'file', path: 'y' } },
      ],
    }),
  ).toThrow(/defineFleet\(\): databases\[1\] "a": duplicate name/);
  const path = await inventory(
    `import { defineFleet } from ${JSON.stringify(new URL('./inventory.ts', import.meta.url).pathname)};\n` +
      `export default defineFleet({ defaults: { cadence: '1mo' }, databases: [{ name: 'billing', source: { kind: 'file', path: 'backups/billing' } }] });\n`,
    'fleet.ts',
  );
  const fleet = await loadInventory(path);
  expect(fleet.databases).toEqual([
    { name: 'billing', source: { kind: 'file', path: 'backups/billing' }, cadence: '1mo' },
  ]);
});
