import { ConfigError } from '../errors.ts';

// `mo` is 30 days: a cadence like `1mo` is compared with the age of a report, so a fixed length keeps the
// verdict the same whatever the month; the grace added to it absorbs months of 31 days.
const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800, mo: 2_592_000 };

/** A duration as written in drills and on the command line: `90s`, `15m`, `8h`, `7d`, `1mo` (30 days), or a combination like `1h30m`. */
export type DurationString = string;

/**
 * Parses a duration like `90s`, `15m`, `8h`, `7d`, `1mo` (30 days) or `1h30m` into seconds.
 *
 * @example
 * parseDuration('8h'); // 28800
 */
export function parseDuration(value: string | number, what = 'duration'): number {
  if (typeof value === 'number') {
    if (Number.isFinite(value) && value >= 0) return value;
    throw new ConfigError(`bad ${what} ${value}: must be a non-negative number of seconds`);
  }
  const text = value.trim();
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(mo|[smhdw])/g)];
  if (text === '' || parts.map((p) => p[0]).join('') !== text) {
    throw new ConfigError(
      `bad ${what} "${value}"`,
      'write a number followed by s, m, h, d, w or mo (30 days), e.g. 90s, 15m, 8h, 7d, 1mo or 1h30m',
    );
  }
  return parts.reduce((sum, [, n, unit]) => sum + Number(n) * UNITS[unit!]!, 0);
}

/** Formats seconds for people: `2h 05m`, `3m 07s`, `4.2s`. */
export function formatDuration(seconds: number): string {
  if (seconds < 60) return `${seconds < 10 ? seconds.toFixed(1) : Math.round(seconds)}s`;
  const s = Math.round(seconds);
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  const pad = (n: number) => String(n).padStart(2, '0');
  if (d > 0) return `${d}d ${pad(h)}h`;
  if (h > 0) return `${h}h ${pad(m)}m`;
  return `${m}m ${pad(sec)}s`;
}
