import { expect, test } from 'vitest';
import type { Marker, TableMarker } from '../model/marker.ts';
import {
  manifestTrustCheck,
  markerTrustCheck,
  newestEvidence,
  unverifiedTables,
  type EvidenceContext,
} from './marker-trust.ts';

const exact = (rows: number): TableMarker => ({ mode: 'exact', algorithm: 'rdsum-text-md5/1', rows, checksum: '1' });
const appendOnly = (rows: number): TableMarker => ({
  mode: 'append-only',
  algorithm: 'rdsum-text-md5/1',
  rows,
  checksum: '1',
  bound: { column: 'id', value: String(rows) },
});
const tables = ['public.a', 'public.b', 'public.c', 'public.d'];
const context: EvidenceContext = {
  drillStartedAt: new Date('2026-06-01T12:00:00Z'),
  recoveryPoint: { createdAt: new Date('2026-06-01T10:00:00Z'), createdAtBasis: 'archive-header' },
  restoredTables: tables,
};
const manifest: Marker = {
  takenAt: '2026-06-01T10:00:00.000Z',
  tables: Object.fromEntries(tables.map((t) => [t, exact(100)])),
};
const marker = (takenAt: string, entries: Record<string, TableMarker>) => ({ id: '7', takenAt, tables: entries });

test('a marker dated before the backup, covering the tables, consistent with the manifest, is believed', () => {
  const check = markerTrustCheck(
    marker('2026-06-01T09:00:00.000Z', { 'public.a': appendOnly(90), 'public.b': exact(100) }),
    manifest,
    context,
  );
  expect(check).toMatchObject({
    name: 'marker #7 trusted',
    status: 'passed',
    actual: '2 of 4 restored tables covered, dated 2026-06-01T09:00:00.000Z',
  });
});

test('dated after the drill started, or after the recovery point: in the future (beyond a minute of clock skew)', () => {
  const future = markerTrustCheck(
    marker('2036-06-01T09:00:00.000Z', Object.fromEntries(tables.map((t) => [t, exact(100)]))),
    undefined,
    context,
  );
  expect(future.status).toBe('failed');
  expect(future.detail).toMatch(
    /^not believed: it is dated 2036-06-01T09:00:00\.000Z, in the future: after the drill started .*; it is dated .*, after the recovery point was made \(2026-06-01T10:00:00\.000Z, from its archive-header\)$/,
  );
  const skew = markerTrustCheck(
    marker('2026-06-01T10:00:30.000Z', Object.fromEntries(tables.map((t) => [t, exact(100)]))),
    undefined,
    context,
  );
  expect(skew.status).toBe('passed');
});

test('contradicting the manifest: newer than it, or more append-only rows than the whole table had', () => {
  const check = markerTrustCheck(
    marker('2026-06-01T10:00:30.000Z', { 'public.a': appendOnly(101), 'public.b': exact(100) }),
    manifest,
    context,
  );
  expect(check.detail).toBe(
    "not believed: it is dated 2026-06-01T10:00:30.000Z, after the dump's own manifest (2026-06-01T10:00:00.000Z), which was taken after every marker the dump holds; " +
      "it counts 101 rows of append-only public.a, the dump's manifest 100 in the whole table",
  );
});

test('covering none of the restored tables fails; fewer than half fails when no manifest covers them', () => {
  expect(markerTrustCheck(marker('2026-06-01T09:00:00.000Z', {}), manifest, context).detail).toBe(
    'not believed: it covers none of the 4 tables in the restored database',
  );
  const one = marker('2026-06-01T09:00:00.000Z', { 'public.a': exact(100) });
  expect(markerTrustCheck(one, undefined, context).detail).toBe(
    'not believed: it covers only 1 of the 4 tables in the restored database',
  );
  expect(markerTrustCheck(one, manifest, context).status).toBe('passed');
});

test('a manifest is dated like a marker and must list every restored table', () => {
  expect(
    manifestTrustCheck(manifest, {
      ...context,
      recoveryPoint: { createdAt: new Date(manifest.takenAt), createdAtBasis: 'manifest' },
    }),
  ).toMatchObject({ name: 'manifest trusted', status: 'passed' });
  const partial: Marker = { takenAt: '2026-06-01T13:00:00.000Z', tables: { 'public.a': exact(1) } };
  expect(manifestTrustCheck(partial, { ...context, recoveryPoint: undefined }).detail).toBe(
    'not believed: it is dated 2026-06-01T13:00:00.000Z, in the future: after the drill started (2026-06-01T12:00:00.000Z); ' +
      'it leaves out 3 of the 4 tables the dump restored (public.b, public.c, public.d)',
  );
});

test('tables in no marker, and tables counted only, are listed as not verified', () => {
  const counted: Marker = {
    takenAt: manifest.takenAt,
    tables: {
      'public.a': exact(1),
      'public.b': { mode: 'count', algorithm: 'rdsum-text-md5/1', rows: 1, tolerance: 0, notHashed: 'no checksum: x' },
    },
  };
  expect(unverifiedTables(['public.a', 'public.b', '"odd.schema"."t"'], [counted, undefined])).toEqual([
    'table public.b: rows counted only, no checksum: x',
    'table "odd.schema"."t": in the restored database, in no marker',
  ]);
});

test('the RPO evidence is the newest one given', () => {
  const newest = newestEvidence([
    { basis: 'marker', at: '2026-06-01T06:00:00.000Z', label: 'marker #7' },
    undefined,
    { basis: 'manifest', at: '2026-06-01T09:59:38.000Z', label: "the dump's manifest" },
  ]);
  expect(newest).toEqual({ basis: 'manifest', at: '2026-06-01T09:59:38.000Z', label: "the dump's manifest" });
  expect(newestEvidence([undefined])).toBeUndefined();
});
