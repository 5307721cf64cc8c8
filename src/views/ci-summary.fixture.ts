import type { DrillMeta } from '../model/drill-meta.ts';

/**
 * A drill result as the CI outputs receive it (what `toDrillMeta` makes of a report); override any field.
 *
 * @example
 * const failed = sampleDrillMeta({ status: 'failed', checks: [...] });
 */
export function sampleDrillMeta(overrides: Partial<DrillMeta> = {}): DrillMeta {
  return {
    name: 'shop restores',
    status: 'passed',
    startedAt: '2026-11-23T17:52:26.000Z',
    finishedAt: '2026-11-23T17:55:33.250Z',
    reportPath: 'reports/20261123T175533Z-shop-restores.report.json',
    markdownPath: 'reports/20261123T175533Z-shop-restores.report.md',
    rto: { actualSeconds: 187, targetSeconds: 900, met: true },
    rpo: { actualSeconds: 3600, targetSeconds: 10800, met: true, basis: 'marker' },
    restoreSeconds: 150,
    failedChecks: [],
    checks: [
      { name: 'restore completed', status: 'passed', expected: true, actual: true },
      { name: 'row count public.orders (manifest)', status: 'passed', expected: 2000, actual: 2000 },
    ],
    ...overrides,
  };
}
