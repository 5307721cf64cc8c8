import { prepareDemoBackup } from '../fixtures/demo/prepare-demo-backup.ts';

/**
 * Vitest globalSetup of the `drills` project: before the example drills run, build the demo
 * "production" database from fixtures/, mark it and dump it into backups/ — the embedded default.
 * Real deployments point their drills at real backups and need no setup like this.
 */
export default async function setup(): Promise<void> {
  await prepareDemoBackup(process.env.RESTORE_DRILL_DEMO_BACKUPS ?? 'backups', {
    log: (line) => process.stderr.write(`restore-drill: ${line}\n`),
  });
}
