import type pg from 'pg';
import type { Marker } from '../../model/marker.ts';
import type { BudgetCoverage, CheckResult, NotVerified, VerificationCoverage } from '../../model/report.ts';
import { compareWithMarker, type CompareOptions } from '../../verify/compare.ts';
import { readCoverageHistory, type CoverageHistory } from '../../verify/coverage-history.ts';
import { compareWithinBudget, verificationUnits } from '../../verify/verify-budget.ts';
import type { DrillSetup } from '../run-setup.ts';

/** How `verify` compares the restored tables with each marker: in full, or within the drill's budget. */
export interface TableComparison {
  compare(
    marker: Marker,
    options: Omit<CompareOptions, 'onlyRanges'>,
  ): Promise<{ readonly checks: CheckResult[]; readonly notVerified: NotVerified[] }>;
  /** What the budget let this run checksum, for the report; undefined without a budget. */
  coverage(): VerificationCoverage | undefined;
}

/**
 * The table comparison of one run. Without a verification budget it is {@link compareWithMarker}. With one,
 * the earlier runs' key ranges are read from the drill's signed reports and each marker (a manifest and an
 * in-database marker: the budget is shared evenly) is compared with {@link compareWithinBudget}.
 *
 * @example
 * const tables = await tableComparison(setup, [manifest, marker], env.connectionConfig());
 * const { checks, notVerified } = await tables.compare(manifest, { label: 'manifest' });
 */
export async function tableComparison(
  setup: DrillSetup,
  markers: ReadonlyArray<Marker | undefined>,
  config: pg.ClientConfig,
): Promise<TableComparison> {
  const budget = setup.verifyBudget;
  if (!budget) {
    return {
      compare: async (marker, options) => ({
        checks: await compareWithMarker(config, marker, options),
        notVerified: [],
      }),
      coverage: () => undefined,
    };
  }
  const present = markers.filter((m): m is Marker => m !== undefined);
  const history: CoverageHistory = await readCoverageHistory({
    reportDir: setup.reportDir,
    drillName: setup.run.name,
    publicKey: setup.key.publicKey,
    evidence: setup.evidence,
    positions: new Set(present.flatMap((m) => verificationUnits(m).map((unit) => unit.position))),
  });
  const coverage: BudgetCoverage[] = [];
  const budgetSeconds = budget.budgetSeconds / Math.max(1, present.length);
  return {
    async compare(marker, options) {
      const result = await compareWithinBudget(config, marker, {
        ...options,
        budgetSeconds,
        history: history.runs,
        ...(budget.rowsPerSecond !== undefined ? { rowsPerSecond: budget.rowsPerSecond } : {}),
      });
      coverage.push(result.coverage);
      return { checks: result.checks, notVerified: result.notVerified };
    },
    coverage: () => ({ budgetSeconds: budget.budgetSeconds, coverage: [...coverage], history: history.note }),
  };
}
