import { ConfigError } from '../errors.ts';
import { networkCode } from './network-code.ts';

/** How long one notification or push may take before it is given up (it never holds up the exit for long). */
export const SEND_TIMEOUT_MS = 10_000;

/**
 * Checks an `http(s)://` URL given on the command line; anything else is a usage error naming the flag.
 * The URL itself is not repeated in the message: webhook URLs carry their secret in the path.
 *
 * @example
 * parseEndpoint(opts.notify, '--notify'); // URL
 */
export function parseEndpoint(value: string, flag: string): URL {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    // handled below
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new ConfigError(
      `${flag} needs an http:// or https:// URL`,
      `e.g. ${flag} https://hooks.slack.com/services/…`,
    );
  }
  return url;
}

/**
 * A URL as it may appear in a log: scheme, host and port only, because webhook URLs (Slack, Teams) carry
 * their token in the path or query, and a URL may carry a password.
 *
 * @example
 * describeEndpoint('https://hooks.slack.com/services/T0/B0/secret'); // 'https://hooks.slack.com/…'
 */
export function describeEndpoint(url: URL | string): string {
  const parsed = typeof url === 'string' ? new URL(url) : url;
  const more = parsed.pathname !== '/' || parsed.search !== '' || parsed.hash !== '';
  return `${parsed.protocol}//${parsed.host}${more ? '/…' : ''}`;
}

/**
 * Sends one HTTP request with a timeout and returns null on a 2xx answer, else why it failed in a few
 * words (`HTTP 500`, `ECONNREFUSED`, `timed out after 10 s`). Never throws.
 *
 * @example
 * const problem = await send(url, { method: 'POST', headers, body });
 * if (problem) warn(`notification to ${describeEndpoint(url)} failed: ${problem}`);
 */
export async function send(
  url: URL,
  init: { method: 'POST' | 'PUT'; headers: Record<string, string>; body: string },
): Promise<string | null> {
  try {
    const response = await fetch(url, { ...init, signal: AbortSignal.timeout(SEND_TIMEOUT_MS), redirect: 'error' });
    await response.arrayBuffer().catch(() => {});
    return response.ok ? null : `HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}`;
  } catch (error) {
    const name = (error as Error).name;
    if (name === 'TimeoutError' || name === 'AbortError') return `timed out after ${SEND_TIMEOUT_MS / 1000} s`;
    return networkCode(error as Error) ?? 'request failed';
  }
}
