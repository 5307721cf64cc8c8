/**
 * Maps items with at most `limit` calls in flight, keeping the input order: enough parallelism to hide
 * network latency without opening hundreds of requests at once.
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
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await map(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
