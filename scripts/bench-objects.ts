// npx tsx scripts/bench-objects.ts [--rows N] [--repeat R]
//
// What the object fingerprint (rdobj/1) adds to `mark` and to verification, on the benchmark database
// (fixtures/bench) and on the shop fixture with the fault corpus's objects (functions, views, triggers,
// policies, grants, a large object). Medians of R interleaved runs, on one local cluster. Not part of `npm test`.
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { seedBench } from '../fixtures/bench/seed-bench.ts';
import { seedShop } from '../fixtures/shop/seed-shop.ts';
import { newRunId } from '../src/environments/labels.ts';
import { localPostgres } from '../src/environments/local/local-postgres.ts';
import { takeObjectFingerprint } from '../src/markers/object-fingerprint.ts';
import { compareWithMarker } from '../src/verify/compare.ts';
import { startObjectComparison } from '../src/verify/compare-objects.ts';
import { compareTableSchemas } from '../src/markers/table-schema.ts';
import { takeMarker } from '../src/markers/take-marker.ts';

const { values: flags } = parseArgs({
  options: { rows: { type: 'string', default: '200000' }, repeat: { type: 'string', default: '5' } },
});
const repeat = Number(flags.repeat);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const time = async (work: () => Promise<unknown>) => {
  const started = performance.now();
  await work();
  return (performance.now() - started) / 1000;
};

await using env = await localPostgres().start({ runId: newRunId(), drillName: 'bench objects', log: () => {} });
const admin = new pg.Client(env.connectionConfig('postgres'));
await admin.connect();
await admin.query('create database bench');
await admin.query('create database shop');
await admin.end();
const seed = async (database: string, work: (client: pg.Client) => Promise<unknown>) => {
  const client = new pg.Client(env.connectionConfig(database));
  await client.connect();
  await work(client).finally(() => client.end());
};
await seed('bench', (client) => seedBench(client, Number(flags.rows)));
await seed('shop', async (client) => {
  await seedShop(client);
  await client.query(await readFile(new URL('../fixtures/faults/objects/objects.sql', import.meta.url), 'utf8'));
});

for (const database of ['bench', 'shop']) {
  const config = env.connectionConfig(database);
  const client = new pg.Client(config);
  await client.connect();
  const marker = await takeMarker(config);
  const schemas = Object.fromEntries(
    Object.entries(marker.tables).flatMap(([table, t]) => (t.schema ? [[table, t.schema]] : [])),
  );
  const mark: number[] = [];
  const fingerprint: number[] = [];
  const verifyTables: number[] = [];
  const verifyObjects: number[] = [];
  for (let round = 0; round < repeat; round++) {
    mark.push(await time(() => takeMarker(config)));
    fingerprint.push(await time(() => takeObjectFingerprint(client)));
    // As a drill verifies: checksums and table schemas, then the same with the objects beside them (on a
    // connection of their own, opened per round: the restored fingerprint is read once per connection).
    verifyTables.push(
      await time(() =>
        Promise.all([
          compareWithMarker(config, marker, { label: 'manifest' }),
          compareTableSchemas(client, schemas, 'manifest'),
        ]),
      ),
    );
    await using objects = startObjectComparison(config);
    verifyObjects.push(
      await time(() =>
        Promise.all([
          compareWithMarker(config, marker, { label: 'manifest' }),
          compareTableSchemas(client, schemas, 'manifest'),
          objects.compare(marker, { label: 'manifest', exact: true }),
        ]),
      ),
    );
  }
  await client.end();
  const objects = Object.values(marker.objects?.objects ?? {}).reduce(
    (n, entries) => n + Object.keys(entries).length,
    0,
  );
  const m = median(mark);
  const f = median(fingerprint);
  const t = median(verifyTables);
  const o = median(verifyObjects);
  console.log(
    `${database}: ${Object.keys(marker.tables).length} tables, ${objects} objects — mark ${m.toFixed(3)} s of which fingerprint ${f.toFixed(3)} s ` +
      `(run beside the tables' numbers); verify without objects ${t.toFixed(3)} s, with ${o.toFixed(3)} s (${o >= t ? '+' : ''}${(((o - t) / t) * 100).toFixed(1)} %)`,
  );
}
