import pg from 'pg';
import { RestoreDrillError } from '../errors.ts';

/** The comment every disposable database carries: restores go only into a database with its run's label. */
export function disposableLabel(runId: string): string {
  return `restore-drill disposable database of run ${runId}`;
}

/**
 * Labels the database an environment created for this run. Environments call this right after creating
 * their database; {@link assertDisposable} checks it before anything is restored.
 */
export async function labelDisposableDatabase(client: pg.ClientBase, database: string, runId: string): Promise<void> {
  await client.query(
    `comment on database ${pg.escapeIdentifier(database)} is ${pg.escapeLiteral(disposableLabel(runId))}`,
  );
}

/**
 * Refuses to go on unless the target database carries this run's disposable label: a restore must never
 * land in production, or in anything restore-drill did not create for this very run.
 */
export async function assertDisposable(config: pg.ClientConfig, runId: string): Promise<void> {
  const where = `${config.host ?? 'localhost'}:${config.port ?? 5432}/${config.database ?? ''}`;
  const client = new pg.Client(config);
  await client.connect();
  try {
    const { rows } = await client.query<{ label: string | null }>(
      "select shobj_description(oid, 'pg_database') as label from pg_database where datname = current_database()",
    );
    if (rows[0]?.label !== disposableLabel(runId)) {
      throw new RestoreDrillError(
        `refusing to restore into ${where}: it is not a disposable database created by this run (${runId})`,
        'restore-drill only restores into environments it created; check the environment used by this drill',
      );
    }
  } finally {
    await client.end();
  }
}
