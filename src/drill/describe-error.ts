import { RestoreDrillError } from '../errors.ts';
import { redact } from '../util/redact.ts';

/**
 * One line for a report or a log: the message and, for restore-drill's own errors, what to do.
 *
 * @example
 * describeError(new ConfigError('no source', 'add one')); // 'no source (add one)'
 */
export function describeError(error: unknown): string {
  if (error instanceof RestoreDrillError)
    return redact(error.hint ? `${error.message} (${error.hint})` : error.message);
  return redact(error instanceof Error ? (error.message.split('\n')[0] ?? String(error)) : String(error));
}
