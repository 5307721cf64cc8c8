import type pg from 'pg';
import type { NotVerified, PhaseName } from '../model/report.ts';
import { qualifiedName } from '../markers/checksum-sql.ts';
import type { Marker } from '../model/marker.ts';
import { discoverTables } from '../markers/table-discovery.ts';

/**
 * The tables of a restored copy the comparison could not vouch for:
 * - `no-marker`: tables found in the restored copy that none of `markers` describes;
 * - `count-only`: tables every marker describes in `count` mode (only the row count was compared), or whose
 *   rows no marker could hash (`notHashed`: a column type whose output function is not trusted in production).
 * A table described by one marker exactly and by another by count is verified. Sorted by name.
 *
 * @example
 * report.notVerified.push(...(await tablesNotVerified(client, [manifest, marker])));
 */
export async function tablesNotVerified(
  client: pg.ClientBase,
  markers: ReadonlyArray<Marker | undefined>,
): Promise<NotVerified[]> {
  const used = markers.filter((m): m is Marker => m !== undefined);
  const restored = (await discoverTables(client)).map(qualifiedName);
  const described = new Set(used.flatMap((m) => Object.keys(m.tables)));
  const entries: NotVerified[] = [];
  for (const table of restored) {
    if (described.has(table)) continue;
    entries.push({
      kind: 'table',
      name: table,
      reason: 'no-marker',
      detail: used.length
        ? 'in the restored copy but in no marker: nothing to compare it with (mark it with `restore-drill mark`)'
        : 'no marker was found: nothing to compare it with',
    });
  }
  for (const table of [...described].sort()) {
    const modes = used.flatMap((m) => (m.tables[table] ? [m.tables[table].mode] : []));
    if (modes.every((mode) => mode === 'count')) {
      entries.push({
        kind: 'table',
        name: table,
        reason: 'count-only',
        detail:
          'marked in `count` mode: only its row count was compared, within a tolerance, not its content (mark it `exact` or `append-only`, or use `restore-drill dump`)',
      });
      continue;
    }
    const recorded = used.flatMap((m) => (m.tables[table] ? [m.tables[table]] : []));
    if (recorded.every((entry) => entry.notHashed)) {
      entries.push({
        kind: 'table',
        name: table,
        reason: 'count-only',
        detail: `rows counted only: ${recorded[0]!.notHashed}`,
      });
    }
  }
  return entries.sort((a, b) => a.name.localeCompare(b.name) || a.reason.localeCompare(b.reason));
}

/**
 * Schema objects beside table rows and cluster-wide things that were not compared.
 *
 * Only when the drill had neither a marker nor a manifest: otherwise the object comparison of each one
 * (compare-objects.ts) lists what it could not verify (kinds not fingerprinted, cluster-wide things, …).
 */
export function objectsNotVerified(markers: ReadonlyArray<Marker | undefined>): NotVerified[] {
  // With a marker or manifest, the object comparison (compare-objects.ts) says what it could not verify.
  if (markers.some((m) => m !== undefined)) return [];
  return [
    {
      kind: 'objects',
      name: 'functions, procedures, views, materialized views, triggers, row-level security, privileges, types, extensions, sequences (definitions), publications, comments, large objects',
      reason: 'not-fingerprinted',
      detail:
        'the markers record tables only (columns, indexes, constraints and rows): the definitions and contents of these objects were not compared',
    },
    {
      kind: 'cluster',
      name: 'roles, tablespaces',
      reason: 'cluster-wide',
      detail: 'cluster-wide: a database dump does not carry them, and they were not compared',
    },
  ];
}

/** The whole database, for a policy-only drill (`restore: false`): listed and checked by policy, never restored. */
export function notRestoredEntry(recoveryPointId: string | null): NotVerified {
  return {
    kind: 'database',
    name: recoveryPointId ?? 'the recovery point',
    reason: 'not-restored',
    detail:
      'policy-only drill (restore: false): the recovery point was listed and its policies checked; its data was not restored or compared',
  };
}

/** The whole database, when a phase failed before `verify` finished comparing. */
export function notComparedEntry(phase: PhaseName): NotVerified {
  return {
    kind: 'database',
    name: 'the restored copy',
    reason: 'not-compared',
    detail:
      phase === 'verify'
        ? 'the verify phase failed before it finished: only the checks listed ran'
        : `the ${phase} phase failed: no table or object was compared`,
  };
}
