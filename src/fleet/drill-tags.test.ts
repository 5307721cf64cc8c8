import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { ConfigError } from '../errors.ts';
import { drillTags, selectByTags } from './drill-tags.ts';
import { generateDrills } from './generate-drills.ts';
import { defineFleet } from './inventory.ts';
import { renderDrillFile } from './render-drill.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fleet-tags-test-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const fleet = defineFleet({
  databases: [
    {
      name: 'billing',
      source: { kind: 'file', path: 'b' },
      tags: ['tier-1', 'eu "west", 1'],
      restore: false,
      policies: [{ kind: 'freshness', maxAge: '1d' }],
    },
    {
      name: 'orders',
      source: { kind: 'file', path: 'o' },
      tags: ['tier-2'],
      restore: false,
      policies: [{ kind: 'freshness', maxAge: '1d' }],
    },
    {
      name: 'audit',
      source: { kind: 'file', path: 'a' },
      restore: false,
      policies: [{ kind: 'freshness', maxAge: '1d' }],
    },
  ],
});

test("a generated drill file's header carries its database's tags, read back exactly (quotes and commas too)", () => {
  const render = { importFrom: 'restore-drill', inventory: 'fleet.yaml' };
  expect(drillTags(renderDrillFile(fleet.databases[0]!, render))).toEqual(['tier-1', 'eu "west", 1']);
  expect(drillTags(renderDrillFile(fleet.databases[2]!, render))).toEqual([]);
});

test('run --tag selects the files that carry any of the tags; a tag no file carries is a usage error', async () => {
  const out = join(dir, 'fleet');
  await generateDrills(fleet, { outDir: out });
  const files = ['audit', 'billing', 'orders'].map((name) => join(out, `${name}.drill.ts`));
  expect(await selectByTags(files, ['tier-1'])).toEqual([join(out, 'billing.drill.ts')]);
  expect(await selectByTags(files, ['tier-1', 'tier-2'])).toEqual([
    join(out, 'billing.drill.ts'),
    join(out, 'orders.drill.ts'),
  ]);
  const error = await selectByTags(files, ['tier-3']).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(ConfigError);
  expect((error as Error).message).toBe('no drill file carries the tag tier-3 (of 3 drill file(s))');
});

test('generate --tag writes only the tagged databases, leaves the others, removes a left tagged database only', async () => {
  const out = join(dir, 'by-tag');
  const first = await generateDrills(fleet, { outDir: out, tags: ['tier-1'] });
  expect(first.filter((f) => f.file.endsWith('.drill.ts'))).toEqual([{ file: 'billing.drill.ts', action: 'created' }]);
  // The whole inventory once; then billing changes and orders (tier-2) and audit (untagged) leave it.
  await generateDrills(fleet, { outDir: out });
  const [billing] = fleet.databases;
  const changed = defineFleet({
    databases: [
      { ...billing!, policies: [{ kind: 'freshness', maxAge: '2d' }] },
      {
        name: 'crm',
        source: { kind: 'file', path: 'c' },
        tags: ['tier-2'],
        restore: false,
        policies: [{ kind: 'freshness', maxAge: '1d' }],
      },
    ],
  });
  const tier2 = await generateDrills(changed, { outDir: out, tags: ['tier-2'], check: true });
  expect(Object.fromEntries(tier2.map((f) => [f.file, f.action]))).toEqual({
    'audit.drill.ts': 'skipped', // left the inventory, but does not carry tier-2
    'billing.drill.ts': 'skipped', // changed, but not tier-2
    'crm.drill.ts': 'created',
    'fleet.body.ts': 'kept',
    'orders.drill.ts': 'removed', // left the inventory and carries tier-2
  });
  const error = await generateDrills(changed, { outDir: out, tags: ['tier-3'] }).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(ConfigError);
  expect((error as Error).message).toBe('no database carries the tag tier-3 (of 2 database(s))');
});
