import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { StartedEnvironment } from '../environments/environment.ts';
import { RestoreDrillError } from '../errors.ts';
import type { StoredMarker } from '../model/marker.ts';
import { readMarkers, readNewestMarker } from './read-markers.ts';
import { sql, startCluster, withClient } from '../verify/shop-cluster.testkit.ts';
import { writeMarker } from './take-marker.ts';

let env: StartedEnvironment;

beforeAll(async () => {
  env = await startCluster('read markers');
});
afterAll(async () => {
  await env?.stop();
});

async function database(name: string) {
  await sql(env.connectionConfig('postgres'), `create database ${name}`);
  return env.connectionConfig(name);
}

describe('readNewestMarker', () => {
  test('is undefined on a database without restore_drill.markers, and with an empty one', async () => {
    const config = await database('no_markers');
    expect(await withClient(config, readNewestMarker)).toBeUndefined();
    await sql(config, 'create schema restore_drill');
    expect(await withClient(config, readNewestMarker)).toBeUndefined();
    await sql(
      config,
      'create table restore_drill.markers (id bigserial primary key, taken_at timestamptz not null default now(), tables jsonb not null)',
    );
    expect(await withClient(config, readNewestMarker)).toBeUndefined();
  });

  test('returns the newest of several markers; readMarkers lists them newest first', async () => {
    const config = await database('two_markers');
    await sql(
      config,
      "create table public.events (id bigint primary key, kind text); insert into public.events values (1, 'a')",
    );
    const first = await writeMarker(config);
    await sql(config, "insert into public.events values (2, 'b')");
    const second = await writeMarker(config);
    const newest = await withClient(config, readNewestMarker);
    // The object fingerprint beside the tables is read by compare-objects.ts, not here.
    const tablesOnly = ({ objects: _, ...marker }: StoredMarker) => marker;
    expect(newest).toEqual(tablesOnly(second));
    expect(newest!.tables['public.events']).toMatchObject({
      mode: 'append-only',
      rows: 2,
      bound: { column: 'id', value: '2' },
    });
    expect(await withClient(config, (client) => readMarkers(client))).toEqual([tablesOnly(second), tablesOnly(first)]);
  });

  test('a marker row that is not readable is an error naming its id', async () => {
    const config = await database('bad_marker');
    await sql(
      config,
      `create schema restore_drill;
       create table restore_drill.markers (id bigserial primary key, taken_at timestamptz not null default now(), tables jsonb not null);
       insert into restore_drill.markers (tables) values ('{"public.t": {"mode": "sometimes"}}')`,
    );
    const reading = withClient(config, readNewestMarker);
    await expect(reading).rejects.toThrow(RestoreDrillError);
    await expect(withClient(config, readNewestMarker)).rejects.toThrow(
      /^marker #1 in restore_drill.markers is not readable: .* at public\.t\.mode/,
    );
  });
});
