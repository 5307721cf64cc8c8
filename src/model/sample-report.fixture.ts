import type { DrillReport } from './report.ts';

/**
 * A complete, realistic report for tests of the report folder; override any field.
 *
 * @example
 * const report = sampleReport({ status: 'failed' });
 */
export function sampleReport(overrides: Partial<DrillReport> = {}): DrillReport {
  return {
    schema: 'restore-drill.report/v1',
    runId: 'rd-20261123-175226-a1b2',
    tool: { name: 'restore-drill', version: '0.1.0' },
    controls: [],
    drill: { name: 'Orders DB: nightly dump', file: 'drills/orders.drill.ts' },
    status: 'failed',
    startedAt: '2026-11-23T17:52:26.000Z',
    finishedAt: '2026-11-23T17:55:33.000Z',
    recoveryPoint: {
      source: 'file',
      id: 'backups/orders-2026-11-23.dump',
      createdAt: '2026-11-23T03:00:00.000Z',
      createdAtBasis: 'manifest',
      markerAt: '2026-11-23T02:59:58.000Z',
      digest: `sha256:${'ab'.repeat(32)}`,
      facts: { format: 'custom', sizeBytes: 1048576, encrypted: false },
    },
    environment: { kind: 'local-postgres', version: '16.4' },
    phases: [
      { name: 'locate', startedAt: '2026-11-23T17:52:26.000Z', seconds: 0.4, status: 'ok' },
      { name: 'provision', startedAt: '2026-11-23T17:52:26.400Z', seconds: 3.1, status: 'ok' },
      { name: 'restore', startedAt: '2026-11-23T17:52:29.500Z', seconds: 150, status: 'ok' },
      { name: 'verify', startedAt: '2026-11-23T17:54:59.500Z', seconds: 33.5, status: 'ok' },
    ],
    objectives: {
      rto: { targetSeconds: 900, actualSeconds: 187, met: true },
      rpo: { targetSeconds: 28800, actualSeconds: 53548, met: false, basis: 'marker' },
    },
    checks: [
      { name: 'row count', status: 'passed', expected: 1200, actual: 1200, table: 'public.orders' },
      {
        name: 'checksum',
        status: 'failed',
        expected: '9f2c',
        actual: '77aa',
        table: 'public.order_items',
        detail: 'range id 1000..1999 differs | 3 rows',
      },
      { name: 'freshness', status: 'skipped', expected: null, actual: null, detail: 'restore failed' },
    ],
    algorithms: ['rdsum-text-md5/1'],
    previous: null,
    ...overrides,
  };
}
