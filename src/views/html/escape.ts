/**
 * Escapes text for HTML element content and quoted attribute values. Everything shown in a report page
 * comes from report files, which anyone can write: all of it goes through here.
 *
 * @example
 * escapeHtml('<b>"x"</b>'); // '&lt;b&gt;&quot;x&quot;&lt;/b&gt;'
 */
export function escapeHtml(text: string | number | boolean | null | undefined): string {
  return String(text ?? '').replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/**
 * A relative link to a file: each path segment is percent-encoded (so `#`, `?` or `:` in a name cannot
 * turn it into something else) and the result escaped for the attribute.
 *
 * @example
 * fileHref('20261123T175533Z-orders.report.json'); // './20261123T175533Z-orders.report.json'
 * fileHref('../reports/a b.report.html'); // '../reports/a%20b.report.html'
 */
export function fileHref(relativePath: string): string {
  const segments = relativePath.split(/[\\/]/).map((s) => (s === '..' || s === '.' ? s : encodeURIComponent(s)));
  const path = segments.join('/');
  return escapeHtml(path.startsWith('.') ? path : `./${path}`);
}
