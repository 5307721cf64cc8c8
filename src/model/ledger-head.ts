/**
 * The newest report of a chain: its position and the digest of its file. Kept outside the report directory
 * (the evidence store's head object, the job summary, metrics, the notification), it tells a verifier how
 * long the chain was, so reports removed from its end are noticed.
 */
export interface LedgerHead {
  readonly position: number;
  /** `sha256:<hex>` of the report file's bytes. */
  readonly digest: string;
}
