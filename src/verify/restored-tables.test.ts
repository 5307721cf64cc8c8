import { afterAll, beforeAll, expect, test } from 'vitest';
import type { StartedEnvironment } from '../environments/environment.ts';
import { readRestoredTables } from './restored-tables.ts';
import { startCluster, withClient } from './shop-cluster.testkit.ts';

let env: StartedEnvironment;

beforeAll(async () => {
  env = await startCluster('restored tables');
  await withClient(env.connectionConfig(), (client) =>
    client.query(`
      create schema "odd.schema";
      create type public.mood as enum ('sad', 'ok');
      create domain public.positive as int check (value > 0);
      create table public.plain (id int primary key, n public.positive, mood public.mood, "Odd Name" public.mood, note text);
      create table "odd.schema"."a.b" (id bigint);
      create table public.events (id int, at date) partition by range (at);
      create view public.plain_view as select id from public.plain;`),
  );
});
afterAll(async () => {
  await env?.stop();
});

test('one query tells restored tables (ordinary, partitioned, odd names) from missing ones and views, with their non-built-in columns', async () => {
  const facts = await withClient(env.connectionConfig(), (client) =>
    readRestoredTables(client, [
      { schema: 'public', name: 'plain' },
      { schema: 'public', name: 'missing' },
      { schema: 'odd.schema', name: 'a.b' },
      { schema: 'public', name: 'events' },
      { schema: 'public', name: 'plain_view' },
    ]),
  );
  expect(facts).toEqual([
    {
      partitioned: false,
      // A domain over a built-in type counts as built-in; enums do not, in column order, quoted as needed.
      nonBuiltin: [
        { name: 'mood', described: 'mood mood' },
        { name: 'Odd Name', described: '"Odd Name" mood' },
      ],
    },
    undefined,
    { partitioned: false, nonBuiltin: [] },
    { partitioned: true, nonBuiltin: [] },
    undefined,
  ]);
});
