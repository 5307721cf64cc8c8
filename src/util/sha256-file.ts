import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';

/** Read size: large enough that hashing, not system calls, sets the pace. */
const CHUNK_BYTES = 1 << 20;

/**
 * The SHA-256 of a file as lowercase hex, read through one reused buffer: dumps can be far larger than
 * memory, and the process's memory stays the same whatever the dump's size.
 *
 * @example
 * await sha256File('backups/shop.dump'); // 'e3b0c442…'
 */
export async function sha256File(path: string, signal?: AbortSignal): Promise<string> {
  const hash = createHash('sha256');
  const buffer = Buffer.allocUnsafe(CHUNK_BYTES);
  const file = await open(path, 'r');
  try {
    for (;;) {
      signal?.throwIfAborted();
      const { bytesRead } = await file.read(buffer, 0, CHUNK_BYTES, null);
      if (bytesRead === 0) break;
      hash.update(buffer.subarray(0, bytesRead));
    }
  } finally {
    await file.close();
  }
  return hash.digest('hex');
}
