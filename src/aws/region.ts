/** Region used only when none is configured anywhere the SDK looks. */
export const FALLBACK_REGION = 'us-east-1';

/** What {@link withFallbackRegion} needs of an AWS SDK client. */
interface RegionalClient {
  readonly config: { region(): Promise<string> };
  destroy(): void;
}

/**
 * A client made by `make`: in the given region; else in the region the SDK's standard configuration
 * finds (AWS_REGION, the profile's config); else in {@link FALLBACK_REGION}.
 *
 * @example
 * const s3 = await withFallbackRegion((region) => new S3Client(region ? { region } : {}), options.region);
 */
export async function withFallbackRegion<C extends RegionalClient>(
  make: (region?: string) => C,
  region: string | undefined,
): Promise<C> {
  const client = make(region);
  if (region) return client;
  try {
    if (await client.config.region()) return client;
  } catch {
    // "Region is missing": the SDK found none in env or profile.
  }
  client.destroy();
  return make(FALLBACK_REGION);
}
