// Apart from evidence-store.ts, which loads the AWS SDK: the report writer imports this on every run.
import { ConfigError } from '../errors.ts';
import type { EvidenceStore, StoreAppend, StoreLedgerEntry } from './evidence-store.ts';

/** How often a writer that lost the race for a position re-reads the head and tries again. */
const MAX_APPEND_ATTEMPTS = 8;

/**
 * Appends a report to the store's chain. `prepare` is called with the current tip (null for an empty store)
 * and returns the signed report for the next position; when another writer took that position first, the
 * tip is read again and `prepare` called again (a bounded number of times, with jitter), so the report is
 * always signed against the head it is appended to.
 *
 * @example
 * const appended = await appendToStore(store, async (tip) => sign({ previous: tip?.digest ?? null, position: (tip?.position ?? 0) + 1 }));
 */
export async function appendToStore<T extends StoreAppend>(
  store: EvidenceStore,
  prepare: (tip: StoreLedgerEntry | null) => Promise<T>,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const prepared = await prepare(await store.tip());
    if ((await store.append(prepared)) === 'appended') return prepared;
    if (attempt >= MAX_APPEND_ATTEMPTS) {
      throw new ConfigError(
        `evidence store ${store.uri}: position ${prepared.position} was taken by another writer ${attempt} times in a row`,
        'too many drills are writing at once; run again',
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 50 + Math.random() * 200 * attempt));
  }
}
