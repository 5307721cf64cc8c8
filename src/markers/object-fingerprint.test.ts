import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { StartedEnvironment } from '../environments/environment.ts';
import { findPgBinaries } from '../postgres/pg-binaries.ts';
import { runCommand } from '../postgres/run-command.ts';
import { createStandInRoles, rolesNamedInDump } from '../postgres/stand-in-roles.ts';
import { sql, startCluster, withClient } from '../verify/shop-cluster.testkit.ts';
import { OBJECT_FINGERPRINT_ALGORITHM } from '../model/object-fingerprint.ts';
import { ensureObjectsColumn, takeObjectFingerprint } from './object-fingerprint.ts';

// Production and a disposable restore target are two clusters, as in a drill: roles exist only in the first.
let production: StartedEnvironment;
let target: StartedEnvironment;
let dir: string;

const OBJECTS = new URL('../../fixtures/faults/objects/objects.sql', import.meta.url);

beforeAll(async () => {
  [production, target] = await Promise.all([
    startCluster('fingerprint production'),
    startCluster('fingerprint target'),
  ]);
  dir = await mkdtemp(join(tmpdir(), 'fingerprint-test-'));
  // The object fixture of the fault corpus needs the shop's tables; a few stand-ins of them are enough here.
  await sql(
    production.connectionConfig(),
    `create table customers (id int primary key); create table orders (id bigint primary key, total numeric, status text);
     create table order_items (order_id bigint, quantity int, unit_price numeric);
     create table events (id bigserial primary key, occurred_at timestamptz); create table documents (id int primary key, title text);
     -- a child whose parent gained a column after it: pg_dump brings the child back with another column order
     create table parent_log (a int); create table child_log (b int) inherits (parent_log); alter table parent_log add column c int;
     ${await readFile(OBJECTS, 'utf8')}`,
  );
});
afterAll(async () => {
  await Promise.all([production?.stop(), target?.stop()]);
  await rm(dir, { recursive: true, force: true });
});

describe('takeObjectFingerprint', () => {
  test('names every kind of object as PostgreSQL does: overloads and odd identifiers stay distinct', async () => {
    const fingerprint = await withClient(production.connectionConfig(), (client) => takeObjectFingerprint(client));
    expect(fingerprint.algorithm).toBe(OBJECT_FINGERPRINT_ALGORITHM);
    const names = (category: keyof typeof fingerprint.objects) => Object.keys(fingerprint.objects[category] ?? {});
    expect(names('functions')).toEqual(
      expect.arrayContaining([
        'function public.order_total(bigint)',
        'function public.order_total(bigint,numeric)',
        'function "Odd.Schema"."Shout ""Loud"""(pg_catalog.text)',
        'procedure public.archive_events(timestamp with time zone)',
        'function public.events_keep_note()',
      ]),
    );
    // hstore's own functions and types come back with CREATE EXTENSION: only the extension is recorded.
    expect(names('functions').some((name) => name.includes('hstore'))).toBe(false);
    expect(fingerprint.objects.extensions?.['extension hstore']).toEqual({
      version: expect.stringMatching(/^\d/),
      schema: 'public',
    });
    expect(names('types')).toEqual([
      'type public.address',
      'type public.money_range',
      'type public.order_mood',
      'type public.positive_qty',
    ]);
    expect(names('views')).toEqual(['materialized view public.orders_per_status', 'view public.big_orders']);
    expect(fingerprint.objects.triggers?.['trigger events_keep_note on public.events']).toMatchObject({ enabled: 'O' });
    expect(names('policies')).toEqual([
      'policy docs_cheap on public.documents',
      'policy recent_readings on public.readings',
    ]);
    expect(fingerprint.objects.tables?.['table public.documents']).toMatchObject({
      rls: 'enabled',
      'column acl':
        '{"id": ["\\"Shop \\"\\"Auditor\\"\\".x\\"=r/restore_drill_superuser"], "title": ["\\"Shop \\"\\"Auditor\\"\\".x\\"=r/restore_drill_superuser"]}',
    });
    expect(fingerprint.objects.tables?.['table public.customers']?.acl).toContain(
      'shop_reader=r/restore_drill_superuser',
    );
    expect(fingerprint.objects.views?.['view public.big_orders']?.owner).toBe('shop_reader');
    expect(names('default privileges')).toEqual([
      'default acl for role restore_drill_superuser in schema public on tables',
    ]);
    expect(names('comments')).toEqual(
      expect.arrayContaining([
        'comment on view public.big_orders',
        'comment on function public.order_total(bigint)',
        'comment on table column public.documents.title',
      ]),
    );
    expect(names('publications')).toEqual(['publication shop_events']);
    expect(fingerprint.objects['large objects']?.['large object 424242']).toMatchObject({
      owner: 'restore_drill_superuser',
      content: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect(names('schemas')).toEqual(['schema "Odd.Schema"', 'schema public']);
  });

  test("a composite type's field or a range type's subtype changed changes the type's definition", async () => {
    const definitions = await withClient(production.connectionConfig(), async (client) => {
      const read = async () => {
        const types = (await takeObjectFingerprint(client)).objects.types ?? {};
        return [types['type public.address']?.definition, types['type public.money_range']?.definition];
      };
      await client.query('begin');
      try {
        const before = await read();
        await client.query('alter type public.address alter attribute zip type varchar(10)');
        const field = await read();
        // A range type's subtype cannot be altered: dropped and made again over another subtype.
        await client.query(
          'drop type public.money_range cascade; create type public.money_range as range (subtype = float8)',
        );
        return [before, field, await read()];
      } finally {
        await client.query('rollback');
      }
    });
    const [before, field, subtype] = definitions;
    expect(before!.every(Boolean)).toBe(true);
    expect(field![0]).not.toBe(before![0]);
    expect(field![1]).toBe(before![1]);
    expect(subtype![1]).not.toBe(before![1]);
  });

  test("restore-drill's own schema and markers are not part of it", async () => {
    await withClient(production.connectionConfig(), async (client) => {
      await client.query(
        'create schema restore_drill; create table restore_drill.markers (id bigserial primary key, tables jsonb not null)',
      );
      try {
        await ensureObjectsColumn(client);
        await client.query("comment on table restore_drill.markers is 'ours'");
        const fingerprint = JSON.stringify(await takeObjectFingerprint(client));
        expect(fingerprint).not.toContain('restore_drill.');
        expect(fingerprint).not.toContain('schema restore_drill');
        const { rows } = await client.query(
          "select count(*)::int as n from pg_attribute where attrelid = 'restore_drill.markers'::regclass and attname = 'objects'",
        );
        expect(rows[0].n).toBe(1);
      } finally {
        await client.query('drop schema restore_drill cascade');
      }
    });
  });

  test('runs built-in functions only, whatever the search_path says, and puts the search_path back', async () => {
    await withClient(production.connectionConfig(), async (client) => {
      // A user function shadowing a built-in the fingerprint uses would run if names were resolved by the caller's path.
      await client.query(
        "create schema trap; create function trap.sha256(bytea) returns bytea language plpgsql as $$ begin raise exception 'user code ran'; end $$",
      );
      try {
        await client.query('set search_path = trap, pg_catalog, public');
        await expect(takeObjectFingerprint(client)).resolves.toMatchObject({ algorithm: OBJECT_FINGERPRINT_ALGORITHM });
        expect((await client.query('show search_path')).rows[0].search_path).toBe('trap, pg_catalog, public');
      } finally {
        await client.query('reset search_path; drop schema trap cascade');
      }
    });
  });

  test('a large object the marking role may not read is recorded as unreadable, not an error', async () => {
    await sql(
      production.connectionConfig(),
      "create role marker_role login password 'pw'; grant usage on schema public to marker_role",
    );
    try {
      const config = { ...production.connectionConfig(), user: 'marker_role', password: 'pw' };
      const fingerprint = await withClient(config, (client) => takeObjectFingerprint(client));
      expect(fingerprint.objects['large objects']?.['large object 424242']?.content).toBeNull();
      expect(fingerprint.unreadable).toEqual(['large object 424242: content (the marking role may not read it)']);
    } finally {
      await sql(production.connectionConfig(), 'revoke usage on schema public from marker_role; drop role marker_role');
    }
  });

  test('a dump restored with its owners and privileges (missing roles as stand-ins) fingerprints the same', async () => {
    const pg = findPgBinaries({ tools: ['pg_dump', 'pg_restore'] });
    const dump = join(dir, 'objects.dump');
    await runCommand(pg.path('pg_dump'), ['-Fc', '-f', dump], { env: production.libpqEnv() });
    const roles = await rolesNamedInDump(async (args) => (await runCommand(pg.path('pg_restore'), args)).stdout, dump);
    expect(roles).toEqual(['Shop "Auditor".x', 'restore_drill_superuser', 'shop_reader']);
    expect(await createStandInRoles(target.connectionConfig(), roles, target.runId, () => {})).toEqual([
      'Shop "Auditor".x',
      'shop_reader',
    ]);
    await runCommand(pg.path('pg_restore'), ['--exit-on-error', `--dbname=${target.database}`, dump], {
      env: target.libpqEnv(),
    });
    const [before, after] = await Promise.all([
      withClient(production.connectionConfig(), (client) => takeObjectFingerprint(client)),
      withClient(target.connectionConfig(), (client) => takeObjectFingerprint(client)),
    ]);
    expect(after.objects).toEqual(before.objects);
  });
});
