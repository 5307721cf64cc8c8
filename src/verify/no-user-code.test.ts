// `mark` and `dump` read production with powerful rights: they must never run a function another role wrote.
// A hostile application role owns types, casts and tables that would make itself superuser when called by a
// superuser; after `mark` and `dump` (as superuser) it is still not one, and its functions never ran.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { StartedEnvironment } from '../environments/environment.ts';
import { compareWithMarker } from './compare.ts';
import { dumpWithManifest } from '../markers/dump-with-manifest.ts';
import type { Marker } from '../model/marker.ts';
import { sql, startCluster, urlOf, withClient } from './shop-cluster.testkit.ts';
import { takeMarker, writeMarker } from '../markers/take-marker.ts';

let env: StartedEnvironment;
let dir: string;

/** The hostile role's trap: logs the call, then tries to make the role superuser with the caller's rights. */
const HOSTILE_SQL = `
create role hostile nologin;
create schema app authorization hostile;
grant usage on schema app to public;
set role hostile;
create table app.calls (who text not null, at timestamptz not null default now());
grant insert on app.calls to public;
create function app.pwn() returns void language plpgsql as $$
begin
  insert into app.calls (who) values (current_user);
  alter role hostile superuser;
end $$;

-- a cast from its enum to text: what c::text of a column runs
create type app.mood as enum ('sad', 'ok', 'happy');
create function app.mood_text(app.mood) returns text language plpgsql as $$ begin perform app.pwn(); return 'x'; end $$;
create cast (app.mood as text) with function app.mood_text(app.mood);
-- a cast from a table's row type to text: what (r.*)::text runs
create table app.accounts (id int primary key, name text, mood app.mood, moods app.mood[]);
insert into app.accounts values (1, 'ann', 'ok', '{sad,happy}'), (2, 'bob', null, '{}');
create function app.row_text(app.accounts) returns text language plpgsql as $$ begin perform app.pwn(); return 'x'; end $$;
create cast (app.accounts as text) with function app.row_text(app.accounts);
-- a primary key of its enum: what (r.key)::text of the bucket runs
create table app.feelings (mood app.mood primary key, note text);
insert into app.feelings values ('sad', 'a'), ('happy', 'b');
-- an enum called int8 as the primary key, with implicit casts to bigint and numeric: what the integer layout's
-- min/max, key::numeric and key <= bound would run if the name alone made it an integer key
create type app.int8 as enum ('1', '2', '3');
create function app.int8_numeric(app.int8) returns numeric language plpgsql as $$ begin perform app.pwn(); return 1; end $$;
create cast (app.int8 as numeric) with function app.int8_numeric(app.int8) as implicit;
create function app.int8_bigint(app.int8) returns bigint language plpgsql as $$ begin perform app.pwn(); return 1; end $$;
create cast (app.int8 as bigint) with function app.int8_bigint(app.int8) as implicit;
create table app.ledger (id app.int8 primary key, amount numeric);
insert into app.ledger values ('1', 1.5), ('2', 2.50);
-- a composite column with a cast to text
create type app.pair as (a int, b text);
create function app.pair_text(app.pair) returns text language plpgsql as $$ begin perform app.pwn(); return 'x'; end $$;
create cast (app.pair as text) with function app.pair_text(app.pair);
create table app.pairs (id int primary key, pair app.pair);
insert into app.pairs values (1, row(1, 'one'));
reset role;
`;

async function hostileState(): Promise<{ rolsuper: boolean; calls: number }> {
  const { rows } = await sql(
    env.connectionConfig(),
    "select (select rolsuper from pg_roles where rolname = 'hostile') as rolsuper, (select count(*)::int from app.calls) as calls",
  );
  return rows[0];
}

beforeAll(async () => {
  env = await startCluster('no user code');
  dir = await mkdtemp(join(tmpdir(), 'no-user-code-test-'));
  await sql(env.connectionConfig(), HOSTILE_SQL);
  // The trap works: called by a superuser, the role becomes one (rolled back at once).
  const armed = await withClient(env.connectionConfig(), async (client) => {
    await client.query("begin; select app.mood_text('ok')");
    const { rows } = await client.query("select rolsuper from pg_roles where rolname = 'hostile'");
    await client.query('rollback');
    return rows[0].rolsuper;
  });
  expect(armed).toBe(true);
  expect(await hostileState()).toEqual({ rolsuper: false, calls: 0 });
});
afterAll(async () => {
  await env?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('a hostile role’s casts, row casts, key types and composites', () => {
  test('mark as superuser runs none of them, and still checksums every table', async () => {
    const marker = await writeMarker(urlOf(env.connectionConfig()), { mode: 'exact' }).finally(() =>
      sql(env.connectionConfig(), 'drop schema if exists restore_drill cascade'),
    );
    expect(await hostileState()).toEqual({ rolsuper: false, calls: 0 });
    for (const table of ['app.accounts', 'app.feelings', 'app.ledger', 'app.pairs']) {
      expect(marker.tables[table], table).toMatchObject({
        mode: 'exact',
        checksum: expect.stringMatching(/^-?\d+$/),
        typed: expect.anything(),
      });
    }
    // Keys of a user type are never printed or compared: the rows are bucketed by the whole row.
    expect(marker.tables['app.feelings']!.ranges!.layout).toEqual({ kind: 'hash', columns: null, buckets: 16 });
    expect(marker.tables['app.ledger']!.ranges!.layout).toEqual({ kind: 'hash', columns: null, buckets: 16 });
  });

  test('dump as superuser runs none of them', async () => {
    const result = await dumpWithManifest(urlOf(env.connectionConfig()), join(dir, 'hostile.dump'));
    expect(Object.keys(result.manifest.tables)).toEqual(
      expect.arrayContaining(['app.accounts', 'app.feelings', 'app.ledger', 'app.pairs']),
    );
    expect(await hostileState()).toEqual({ rolsuper: false, calls: 0 });
  });
});

test('a type whose output function another role can replace: the table gets a row count and the reason, not a checksum', async () => {
  const config = env.connectionConfig();
  await sql(
    config,
    `create type app.label;
     create function app.label_in(cstring) returns app.label language internal immutable strict as 'textin';
     create function app.label_out(app.label) returns cstring language internal immutable strict as 'textout';
     create type app.label (input = app.label_in, output = app.label_out, like = text);
     alter function app.label_out(app.label) owner to hostile;
     create table app.labels (id int primary key, label app.label);
     insert into app.labels values (1, 'a'), (2, 'b')`,
  );
  try {
    const marker = await takeMarker(config, { tables: [{ name: 'app.labels', mode: 'exact' }] });
    const labels = marker.tables['app.labels']!;
    expect(labels).toMatchObject({ mode: 'count', rows: 2, tolerance: 0 });
    expect(labels.checksum).toBeUndefined();
    expect(labels.notHashed).toMatch(/label: app\.label \(output app\.label_out\(app\.label\)\)/);
  } finally {
    await sql(config, 'drop table app.labels; drop type app.label cascade');
  }
});

test('after a restore, a table whose output function became untrusted is not checksummed: its check fails and says why', async () => {
  const config = env.connectionConfig();
  await sql(
    config,
    `create type app.tag;
     create function app.tag_in(cstring) returns app.tag language internal immutable strict as 'textin';
     create function app.tag_out(app.tag) returns cstring language internal immutable strict as 'textout';
     create type app.tag (input = app.tag_in, output = app.tag_out, like = text);
     create table app.tags (id int primary key, tag app.tag);
     insert into app.tags values (1, 'a')`,
  );
  try {
    const marker = await takeMarker(config, { tables: [{ name: 'app.tags', mode: 'exact' }] });
    expect(marker.tables['app.tags']).toMatchObject({ mode: 'exact', checksum: expect.any(String) });
    await sql(config, 'alter function app.tag_out(app.tag) owner to hostile');
    const checks = await compareWithMarker(config, marker, { label: 'manifest' });
    expect(checks.find((c) => c.name === 'row count app.tags (manifest)')).toMatchObject({
      status: 'passed',
      actual: 1,
    });
    expect(checks.find((c) => c.name === 'checksum app.tags (manifest)')).toMatchObject({
      status: 'failed',
      detail: expect.stringMatching(
        /^not computed: in the restored copy, printing tag: app\.tag \(output app\.tag_out\(app\.tag\)\) would run a function/,
      ),
    });
  } finally {
    await sql(config, 'drop table app.tags; drop type app.tag cascade');
  }
});

test('after a restore, a marker whose key is of a user type is not used to cast or compare that key', async () => {
  // A forged marker: append-only on app.ledger, whose key app.int8 has implicit casts to bigint and numeric.
  const forged: Marker = {
    takenAt: new Date().toISOString(),
    tables: {
      'app.ledger': {
        mode: 'append-only',
        algorithm: 'rdsum-text-md5/1',
        rows: 2,
        checksum: '1',
        bound: { column: 'id', value: '2' },
        ranges: { layout: { kind: 'integer', column: 'id', min: '1', width: '1', buckets: 2 }, sums: [] },
      },
    },
  };
  const checks = await compareWithMarker(env.connectionConfig(), forged, { label: 'marker #9' });
  const detail =
    "not computed: key column id app.int8 of the restored table is not of a built-in type, so its casts and operators could be anyone's functions";
  expect(checks.filter((c) => c.status === 'failed')).toEqual([
    {
      name: 'row count app.ledger (marker #9)',
      status: 'failed',
      expected: 2,
      actual: null,
      table: 'app.ledger',
      detail,
    },
    {
      name: 'checksum app.ledger (marker #9)',
      status: 'failed',
      expected: '1',
      actual: null,
      table: 'app.ledger',
      detail,
    },
  ]);
  expect(await hostileState()).toEqual({ rolsuper: false, calls: 0 });
});

describe('restore_drill.markers made by another role', () => {
  test('one with a trigger: mark refuses to insert, says why, and the trigger never runs', async () => {
    const config = env.connectionConfig();
    await sql(
      config,
      `grant create on database ${env.connectionConfig().database} to hostile;
       set role hostile;
       create schema restore_drill;
       create table restore_drill.markers (id bigserial primary key, taken_at timestamptz not null default now(), tables jsonb not null);
       create function restore_drill.on_marker() returns trigger language plpgsql as $$ begin perform app.pwn(); return new; end $$;
       create trigger on_marker before insert on restore_drill.markers for each row execute function restore_drill.on_marker();
       reset role`,
    );
    try {
      await expect(writeMarker(config, { tables: [{ name: 'app.accounts' }] })).rejects.toThrow(
        /restore_drill\.markers cannot be trusted \(owner hostile\): it is owned by another role, who can add triggers to it; it has triggers/,
      );
      expect(await hostileState()).toEqual({ rolsuper: false, calls: 0 });
      expect((await sql(config, 'select count(*)::int as n from restore_drill.markers')).rows[0].n).toBe(0);
    } finally {
      await sql(config, 'drop schema restore_drill cascade');
    }
  });
});

test('--role: mark and dump run as a read-only role that owns only the restore_drill schema', async () => {
  const config = env.connectionConfig();
  await sql(
    config,
    'create role marker nologin; grant pg_read_all_data to marker; create schema restore_drill authorization marker',
  );
  try {
    const marker = await writeMarker(config, { role: 'marker', tables: [{ name: 'app.accounts' }] });
    const { rows } = await sql(
      config,
      "select pg_get_userbyid(relowner) as owner from pg_class where oid = 'restore_drill.markers'::regclass",
    );
    expect(rows[0].owner).toBe('marker');
    expect(marker.tables['app.accounts']).toMatchObject({ rows: 2 });
    const dumped = await dumpWithManifest(urlOf(config), join(dir, 'as-marker.dump'), { role: 'marker' });
    expect(dumped.manifest.tables['app.accounts']).toMatchObject({ rows: 2 });
    await expect(writeMarker(config, { role: 'nobody_here' })).rejects.toThrow(/cannot SET ROLE nobody_here/);
    // A policy's expression would run with the marking role's rights: reading through it is refused instead.
    await sql(
      config,
      `set role hostile;
       create table app.secrets (id int primary key, owner text);
       insert into app.secrets values (1, 'ann');
       create function app.allowed(text) returns boolean language plpgsql as $$ begin perform app.pwn(); return true; end $$;
       alter table app.secrets enable row level security;
       create policy mine on app.secrets using (app.allowed(owner));
       reset role`,
    );
    await expect(writeMarker(config, { role: 'marker', tables: [{ name: 'app.secrets' }] })).rejects.toThrow(
      /table app\.secrets has row-level security, and this role would read it through the policy/,
    );
    await expect(dumpWithManifest(urlOf(config), join(dir, 'rls.dump'), { role: 'marker' })).rejects.toThrow(
      /row-level security/,
    );
    expect(await hostileState()).toEqual({ rolsuper: false, calls: 0 });
  } finally {
    await sql(
      config,
      'drop table if exists app.secrets; drop schema restore_drill cascade; drop owned by marker; drop role marker',
    );
  }
});
