import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { StartedEnvironment } from '../environments/environment.ts';
import type { ObjectFingerprint } from '../model/object-fingerprint.ts';
import { takeObjectFingerprint } from '../markers/object-fingerprint.ts';
import { createStandInRoles } from '../postgres/stand-in-roles.ts';
import { CLUSTER_WIDE_NOT_VERIFIED, compareObjects, diffFingerprints } from './compare-objects.ts';
import { sql, startCluster, withClient } from './shop-cluster.testkit.ts';

const DIGEST_A = 'a'.repeat(64);
const DIGEST_B = 'b'.repeat(64);

function fingerprint(objects: ObjectFingerprint['objects'], serverMajor = 15): ObjectFingerprint {
  return { algorithm: 'rdobj/1', serverMajor, objects };
}

const production = fingerprint({
  triggers: { 'trigger events_keep_note on public.events': { definition: DIGEST_A, enabled: 'O' } },
  policies: { 'policy docs_cheap on public.docs': { definition: DIGEST_A } },
  tables: {
    'table public.docs': {
      owner: 'app',
      acl: '["app=arwdDxt/app", "reader=r/app"]',
      rls: 'enabled',
      'column acl': '{}',
      definition: DIGEST_A,
    },
  },
  'large objects': { 'large object 16421': { owner: 'app', acl: '["app=rw/app"]', content: DIGEST_A } },
});

describe('diffFingerprints', () => {
  test('the same objects pass with one summary check per kind', () => {
    const checks = diffFingerprints(production, production, { label: 'manifest', exact: true });
    expect(checks.map((c) => [c.name, c.status, c.detail])).toEqual([
      ['objects: tables (manifest)', 'passed', '1 of 1 match (rdobj/1)'],
      ['objects: triggers (manifest)', 'passed', '1 of 1 match (rdobj/1)'],
      ['objects: policies (manifest)', 'passed', '1 of 1 match (rdobj/1)'],
      ['objects: large objects (manifest)', 'passed', '1 of 1 match (rdobj/1)'],
    ]);
  });

  test('names what differs: missing, definition, state, privileges, content; an extra object in a manifest', () => {
    const restored = fingerprint({
      triggers: {},
      policies: { 'policy docs_cheap on public.docs': { definition: DIGEST_B } },
      tables: {
        'table public.docs': {
          owner: 'app',
          acl: '["app=arwdDxt/app"]',
          rls: 'disabled',
          'column acl': '{}',
          definition: DIGEST_A,
        },
      },
      'large objects': {
        'large object 16421': { owner: 'app', acl: '["app=rw/app"]', content: DIGEST_B },
        'large object 16500': { owner: 'app', acl: '[]', content: DIGEST_A },
      },
    });
    const failed = diffFingerprints(production, restored, { label: 'manifest', exact: true }).filter(
      (c) => c.status === 'failed' && !c.name.startsWith('objects:'),
    );
    expect(failed.map((c) => [c.name, c.detail])).toEqual([
      [
        'table public.docs (manifest)',
        'table public.docs: privileges differ (expected ["app=arwdDxt/app", "reader=r/app"], found ["app=arwdDxt/app"]); table public.docs: row-level security differs (expected enabled, found disabled)',
      ],
      ['trigger events_keep_note on public.events (manifest)', 'trigger events_keep_note on public.events is missing'],
      ['policy docs_cheap on public.docs (manifest)', 'policy docs_cheap on public.docs: definition differs'],
      ['large object 16421 (manifest)', 'large object 16421: content differs'],
      ['large object 16500 (manifest)', 'large object 16500 is in the restored database but not in the manifest'],
    ]);
  });

  test('many differences of one kind: the first 50 get checks of their own, the summary counts all', () => {
    const many = Object.fromEntries(
      Array.from({ length: 120 }, (_, i) => [
        `large object ${20000 + i}`,
        { owner: 'app', acl: '[]', content: DIGEST_A },
      ]),
    );
    const checks = diffFingerprints(fingerprint({ 'large objects': many }), fingerprint({}), {
      label: 'manifest',
      exact: true,
    });
    expect(checks).toHaveLength(51);
    expect(checks[0]).toMatchObject({
      name: 'objects: large objects (manifest)',
      status: 'failed',
      expected: 120,
      actual: 0,
      detail: '120 differ, the first 50 named in their own checks',
    });
  });

  test('a disabled trigger says so in words', () => {
    const restored = fingerprint({
      ...production.objects,
      triggers: { 'trigger events_keep_note on public.events': { definition: DIGEST_A, enabled: 'D' } },
    });
    const check = diffFingerprints(production, restored, { label: 'marker #4', exact: false }).find(
      (c) => c.name === 'trigger events_keep_note on public.events (marker #4)',
    );
    expect(check?.detail).toBe(
      'trigger events_keep_note on public.events: enabled state differs (expected enabled, found disabled) (or it changed after the marker was taken)',
    );
  });

  test('an in-database marker allows objects made after it, and says how many were not compared', () => {
    const restored = fingerprint({
      ...production.objects,
      triggers: {
        ...production.objects.triggers,
        'trigger later on public.events': { definition: DIGEST_B, enabled: 'O' },
      },
    });
    const checks = diffFingerprints(production, restored, { label: 'marker #4', exact: false });
    expect(checks.filter((c) => c.status === 'failed')).toEqual([]);
    expect(checks.find((c) => c.name === 'objects: triggers (marker #4)')?.detail).toBe(
      '1 of 1 match (rdobj/1); 1 not in the marker (made after it was taken) not compared',
    );
  });

  test('declared --no-acl / --no-owner dumps: privileges and owners are not compared, the owner entry of an ACL stands for "the owner"', () => {
    const restored = fingerprint({
      ...production.objects,
      tables: {
        'table public.docs': {
          owner: 'restorer',
          acl: '["restorer=arwdDxt/restorer"]',
          rls: 'enabled',
          'column acl': '{}',
          definition: DIGEST_A,
        },
      },
      'large objects': {
        'large object 16421': { owner: 'restorer', acl: '["restorer=rw/restorer"]', content: DIGEST_A },
      },
    });
    expect(
      diffFingerprints(production, restored, {
        label: 'manifest',
        exact: true,
        dumpedWithout: { privileges: true, owners: true },
      }).filter((c) => c.status === 'failed'),
    ).toEqual([]);
    const ownersOnly = diffFingerprints(production, restored, {
      label: 'manifest',
      exact: true,
      dumpedWithout: { owners: true },
    }).filter((c) => c.status === 'failed');
    // The owner's own default entry matches; the grant to reader is really missing.
    expect(ownersOnly.map((c) => c.detail)).toEqual([
      '1 differ, named in their own checks',
      'table public.docs: privileges differ (expected ["app=arwdDxt/app", "reader=r/app"], found ["restorer=arwdDxt/restorer"])',
    ]);
  });

  test('a fingerprint from another major says its definitions may print differently', () => {
    const restored = fingerprint(
      { ...production.objects, policies: { 'policy docs_cheap on public.docs': { definition: DIGEST_B } } },
      16,
    );
    const check = diffFingerprints(production, restored, { label: 'manifest', exact: true }).find(
      (c) => c.name === 'policy docs_cheap on public.docs (manifest)',
    );
    expect(check?.detail).toBe(
      'policy docs_cheap on public.docs: definition differs (fingerprinted on PostgreSQL 15, restored on 16: PostgreSQL may print a definition differently)',
    );
  });
});

describe('compareObjects', () => {
  let env: StartedEnvironment;
  beforeAll(async () => {
    env = await startCluster('compare objects');
    await sql(
      env.connectionConfig(),
      `create table docs (id int primary key, body text); alter table docs enable row level security;
       create policy docs_cheap on docs using (id < 10);
       create schema restore_drill; create table restore_drill.markers (id bigserial primary key, taken_at timestamptz not null default now(), tables jsonb not null);
       insert into restore_drill.markers (tables) values ('{}')`,
    );
  });
  afterAll(async () => {
    await env?.stop();
  });

  test('a marker taken before object fingerprints (no objects column) yields no check and says objects were not verified', async () => {
    const result = await withClient(env.connectionConfig(), (client) =>
      compareObjects(
        client,
        { id: '1', takenAt: '2026-01-01T00:00:00.000Z', tables: {} },
        { label: 'marker #1', exact: false },
      ),
    );
    expect(result.checks).toEqual([]);
    expect(result.notVerified).toContain(CLUSTER_WIDE_NOT_VERIFIED);
    expect(result.notVerified.map((n) => `${n.name}: ${n.detail}`)).toContainEqual(
      expect.stringMatching(
        /^objects of the marker #1 \(functions, views, .*\): it was taken before restore-drill fingerprinted objects/,
      ),
    );
  });

  test("a marker's fingerprint is read from the restored markers table; a damaged one fails in one line", async () => {
    await withClient(env.connectionConfig(), async (client) => {
      await client.query('alter table restore_drill.markers add column objects jsonb');
      await client.query('update restore_drill.markers set objects = $1', [
        JSON.stringify(await takeObjectFingerprint(client)),
      ]);
      const good = await compareObjects(
        client,
        { id: '1', takenAt: '2026-01-01T00:00:00.000Z', tables: {} },
        { label: 'marker #1', exact: false },
      );
      expect(good.checks.map((c) => [c.name, c.status])).toEqual([
        ['objects: schemas (marker #1)', 'passed'],
        ['objects: extensions (marker #1)', 'passed'],
        ['objects: tables (marker #1)', 'passed'],
        ['objects: policies (marker #1)', 'passed'],
      ]);
      await client.query(`update restore_drill.markers set objects = '{"algorithm": "rdobj/1", "objects": 3}'`);
      const damaged = await compareObjects(
        client,
        { id: '1', takenAt: '2026-01-01T00:00:00.000Z', tables: {} },
        { label: 'marker #1', exact: false },
      );
      expect(damaged.checks).toEqual([
        {
          name: 'objects (marker #1)',
          status: 'failed',
          expected: 'rdobj/1',
          actual: null,
          detail: expect.stringMatching(/^the marker #1's object fingerprint is not readable: .+ at serverMajor$/),
        },
      ]);
    });
  });

  test('a fingerprint of an unknown version fails instead of passing unread', async () => {
    const result = await withClient(env.connectionConfig(), (client) =>
      compareObjects(
        client,
        {
          takenAt: '2026-01-01T00:00:00.000Z',
          tables: {},
          objects: { algorithm: 'rdobj/9', serverMajor: 15, objects: {} },
        },
        { label: 'manifest', exact: true },
      ),
    );
    expect(result.checks).toMatchObject([
      { name: 'objects (manifest)', status: 'failed', expected: 'rdobj/1', actual: 'rdobj/9' },
    ]);
  });

  test('stand-in roles are named among what was not verified', async () => {
    await createStandInRoles(env.connectionConfig(), ['Odd "Role"', 'restore_drill_superuser'], env.runId, () => {});
    const result = await withClient(env.connectionConfig(), (client) =>
      compareObjects(client, { takenAt: '2026-01-01T00:00:00.000Z', tables: {} }, { label: 'manifest', exact: true }),
    );
    expect(result.notVerified.map((n) => `${n.name}: ${n.detail}`)).toContainEqual(
      expect.stringMatching(
        /^roles "Odd ""Role""": they did not exist in the environment, so NOLOGIN stand-ins were created/,
      ),
    );
    const { rows } = await sql(env.connectionConfig(), `select rolcanlogin from pg_roles where rolname = 'Odd "Role"'`);
    expect(rows).toEqual([{ rolcanlogin: false }]);
  });
});
