import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';

/**
 * The SHA-256 of a file as lowercase hex, streamed: dumps can be far larger than memory.
 *
 * @example
 * await sha256File('backups/shop.dump'); // 'e3b0c442…'
 */
export async function sha256File(path: string, signal?: AbortSignal): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash, { signal });
  return hash.digest('hex');
}
