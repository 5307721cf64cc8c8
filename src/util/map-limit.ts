/**
 * Maps items with at most `limit` calls in flight, keeping the input order: enough parallelism to hide
 * network latency without opening hundreds of requests at once. When a call fails, no new one starts, and
 * the first error is thrown only once every call already in flight has settled — so a caller that cleans up
 * after the failure (removes a folder, say) never races a copy or a download still writing into it.
 *
 * @example
 * const heads = await mapLimit(keys, 8, (key) => headObject(key));
 */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  map: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (!failure && next < items.length) {
      const index = next++;
      try {
        results[index] = await map(items[index]!, index);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure) throw failure.error;
  return results;
}
