import type { Command } from 'commander';
import { cadenceOption, evidenceOption, evidenceRetentionOption, verifyBudgetOption } from './evidence-options.ts';
import { leaseStoreOption, rdsLimitOption } from './instance-limit-options.ts';
import { metricsFileOption, notifyOption, pushgatewayOption, reportDirOption, signingKeyOption } from './options.ts';

/**
 * Adds the options every command that runs drills takes (`run` and `check`): where reports go and what signs
 * them, notifications and metrics, the evidence store, the cadence, the verification budget, and the RDS instance cap.
 */
export function addDrillRunOptions(command: Command): Command {
  return command
    .addOption(reportDirOption())
    .addOption(signingKeyOption())
    .addOption(notifyOption())
    .addOption(metricsFileOption())
    .addOption(pushgatewayOption())
    .addOption(evidenceOption())
    .addOption(evidenceRetentionOption())
    .addOption(cadenceOption())
    .addOption(verifyBudgetOption())
    .addOption(rdsLimitOption())
    .addOption(leaseStoreOption());
}
