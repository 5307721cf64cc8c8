import type pg from 'pg';
import type { CheckResult } from '../model/report.ts';
import { runErasureReplay, type ErasureReplay } from './erasure-replay.ts';

/**
 * The verify step of a drill's `erasure`: runs the replay on the restored copy (last, since it changes the
 * data); a replay that cannot run (ledger unreadable, a write refused, a broken `subjects` query) is a failed
 * check naming why, never a pass. Messages are already free of subject ids.
 *
 * @example
 * checks.push(...(await verifyErasure(run.erasure, db, recoveryPoint.createdAt, log)));
 */
export async function verifyErasure(
  replay: ErasureReplay,
  db: pg.ClientBase,
  recoveryPointAt: Date,
  log: (line: string) => void,
  signal?: AbortSignal,
  connection?: pg.ClientConfig,
): Promise<CheckResult[]> {
  try {
    return await runErasureReplay(replay, db, { recoveryPointAt, log, connection });
  } catch (error) {
    signal?.throwIfAborted();
    const hint = (error as { hint?: string }).hint;
    return [
      {
        name: 'erasure replay',
        status: 'failed',
        expected: 'no erased subject remains after the erasures are replayed',
        actual: 'not run',
        detail: `${(error as Error).message}${hint ? ` — ${hint}` : ''}`,
      },
    ];
  }
}
