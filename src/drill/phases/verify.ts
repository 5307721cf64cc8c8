import pg from 'pg';
import { qualifiedName } from '../../markers/checksum-sql.ts';
import { readNewestMarker } from '../../markers/read-markers.ts';
import { discoverTables } from '../../markers/table-discovery.ts';
import { compareTableSchemas } from '../../markers/table-schema.ts';
import type { Marker } from '../../model/marker.ts';
import type { CheckResult } from '../../model/report.ts';
import { startObjectComparison } from '../../verify/compare-objects.ts';
import { manifestTrustCheck, markerTrustCheck, newestEvidence } from '../../verify/marker-trust.ts';
import { objectsNotVerified, tablesNotVerified } from '../../verify/not-verified.ts';
import { sequenceChecks } from '../../verify/sequence-checks.ts';
import { verifyAttachments } from '../../attachments/verify-attachments.ts';
import { verifyErasure } from '../../erasure/verify-erasure.ts';
import { runBody } from '../drill-body.ts';
import type { PhaseRecorder } from '../phase-recorder.ts';
import type { DrillSetup } from '../run-setup.ts';
import { provisioned, type RunState } from '../run-state.ts';
import type { EarlyComparison } from './restore.ts';
import { physicalMoment } from './physical-moment.ts';
import { tableComparison } from './budgeted-comparison.ts';
import { physicalTarget } from '../../model/physical-backup.ts';

/**
 * `verify`: markers and the manifest are checked for trust, then every table they describe (counts,
 * checksums, schema), every object (fingerprint) and the sequences are compared; what nothing describes is
 * recorded as not verified; the newest trusted marker or manifest dates the data for the RPO; last, the
 * drill's own body runs its `check()`s.
 */
export async function verify(
  setup: DrillSetup,
  state: RunState,
  recorder: PhaseRecorder,
  early: EarlyComparison | undefined,
): Promise<void> {
  const { run, log, progress, startedAt } = setup;
  const { point, restorable, env } = provisioned(state);
  const client = new pg.Client(env.connectionConfig());
  // An interrupted verify is abandoned while this client is still open, and teardown then stops the
  // server under it: that 'error' event must not crash the process that is writing the report.
  client.on('error', () => {});
  await client.connect();
  // Functions, views, triggers, policies, privileges, large objects: on a connection of their own.
  await using objects = startObjectComparison(env.connectionConfig());
  try {
    // A physical restore to a marker's own position found that marker in the WAL: it is the copy's manifest.
    const manifest = restorable.manifest ?? env.manifest;
    const marker = await readNewestMarker(client);
    recorder.check(markersPresentCheck(manifest, marker, physicalTarget(restorable) !== undefined));
    // A point-in-time restore: where it landed is proved first; its markers are dated against the replayed data.
    const moment = await physicalMoment(restorable, env, client, startedAt);
    if (moment) recorder.check(...moment.checks);
    // Markers and manifests came with the backup: checked against what the drill knows before they count.
    const evidence = {
      drillStartedAt: startedAt,
      recoveryPoint: moment?.replayedTo ?? point,
      restoredTables: (await discoverTables(client)).map(qualifiedName),
    };
    const trust = {
      manifest: manifest && manifestTrustCheck(manifest, evidence),
      marker: marker && markerTrustCheck(marker, manifest, evidence),
    };
    for (const check of [trust.manifest, trust.marker]) if (check) recorder.check(check);
    // Under a verification budget: the rotation's history is read from the drill's signed reports first.
    const tables = await tableComparison(setup, [manifest, marker], env.connectionConfig());
    for (const [label, m] of [
      ['manifest', manifest],
      [marker ? `marker #${marker.id}` : '', marker],
    ] as const) {
      if (!m) continue;
      log(`verify: comparing ${Object.keys(m.tables).length} tables against the ${label}`);
      const onTable = (done: number, total: number) => progress({ phase: 'verify', done, total });
      const schemas = Object.fromEntries(
        Object.entries(m.tables).flatMap(([table, t]) => (t.schema ? [[table, t.schema]] : [])),
      );
      // The catalog queries of the schema comparison wait on round trips, not CPU: they run on this
      // client while the checksums run on their own connections.
      const [sums, schemaChecks, objectChecks] = await Promise.all([
        m === manifest && early
          ? early.comparison.finish({ onTable }).then((checks) => ({ checks, notVerified: [] }))
          : tables.compare(m, { label, onTable, algorithms: recorder.algorithms }),
        compareTableSchemas(client, schemas, label),
        objects.compare(m, { label, exact: m === manifest, dumpedWithout: run.dumpedWithout }),
      ]);
      if (m === manifest && early) for (const algorithm of early.algorithms) recorder.algorithms.add(algorithm);
      recorder.check(...sums.checks, ...schemaChecks, ...objectChecks.checks);
      recorder.notVerified(...sums.notVerified, ...objectChecks.notVerified);
    }
    const verification = tables.coverage();
    if (verification) recorder.found({ verification });
    recorder.check(...(await sequenceChecks(client)));
    recorder.notVerified(
      ...(await tablesNotVerified(client, [manifest, marker])),
      ...objectsNotVerified([manifest, marker]),
    );
    // The newest trusted evidence of the data's time: an older marker must not make a fresh dump look stale.
    const dataTime = newestEvidence([
      moment?.dataTime,
      marker && trust.marker?.status === 'passed'
        ? { basis: 'marker', at: marker.takenAt, label: `marker #${marker.id}` }
        : undefined,
      manifest && trust.manifest?.status === 'passed'
        ? {
            basis: 'manifest',
            at: manifest.takenAt,
            label: restorable.manifest ? "the dump's manifest" : `marker #${manifest.id ?? '?'} from the WAL`,
          }
        : undefined,
    ]);
    if (dataTime) recorder.found({ dataTime });
    // Attachments: restored to the same recovery point, compared with their manifest and the database's keys.
    if (run.attachments?.length) {
      const context = {
        db: client,
        recoveryPoint: point,
        runId: setup.runId,
        drillName: run.name,
        signal: run.signal,
        log,
      };
      const attachments = await verifyAttachments(run.attachments, context);
      try {
        recorder.check(...attachments.checks);
      } finally {
        await attachments.remove();
      }
    }
    if (run.body) {
      recorder.found({ bodyStarted: true });
      await runBody(run.body, { db: client, recoveryPoint: point, environment: env, log }, (check) =>
        recorder.check(check),
      );
    }
    // Last: the erasure replay changes the restored data.
    if (run.erasure)
      recorder.check(
        ...(await verifyErasure(run.erasure, client, point.createdAt, log, run.signal, env.connectionConfig())),
      );
  } finally {
    await client.end().catch(() => {});
  }
}

/**
 * `markers present`: passed when the dump has a manifest (or the WAL the marker restored to) or the restored
 * data a marker; when neither, failed saying how to get one — but skipped for a physical restore, whose moment
 * the server's recovery messages still prove: its tables are then listed as not verified.
 */
function markersPresentCheck(manifest: Marker | undefined, marker: Marker | undefined, physical: boolean): CheckResult {
  const found = [
    manifest ? (manifest.id ? `marker #${manifest.id} from the WAL` : 'manifest beside the dump') : null,
    marker ? `restore_drill.markers #${marker.id}` : null,
  ]
    .filter(Boolean)
    .join(', ');
  if (!manifest && !marker && physical) {
    return {
      name: 'markers present',
      status: 'skipped',
      expected: 'a marker',
      actual: 'none',
      detail:
        "no restore_drill.markers in the restored copy: where it landed rests on the server's recovery end (the last replayed commit), and its data is not verified against production (run `restore-drill mark` on a schedule)",
    };
  }
  return manifest || marker
    ? { name: 'markers present', status: 'passed', expected: 'a marker', actual: found }
    : {
        name: 'markers present',
        status: 'failed',
        expected: 'a marker',
        actual: 'none',
        detail:
          'no manifest beside the dump and no restore_drill.markers in the restored data: run `restore-drill mark` in production, or make dumps with `restore-drill dump`',
      };
}
