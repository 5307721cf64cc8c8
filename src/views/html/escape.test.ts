import { describe, expect, it } from 'vitest';
import { escapeHtml, fileHref } from './escape.ts';

describe('escapeHtml', () => {
  it('escapes the five characters that can end text or an attribute', () => {
    expect(escapeHtml(`<img src=x onerror="alert('1')"> & co`)).toBe(
      '&lt;img src=x onerror=&quot;alert(&#39;1&#39;)&quot;&gt; &amp; co',
    );
    expect(escapeHtml(null)).toBe('');
    expect(escapeHtml(42)).toBe('42');
  });
});

describe('fileHref', () => {
  it('percent-encodes each path segment so a name cannot become a scheme, query or fragment', () => {
    expect(fileHref('20261123T175533Z-orders.report.html')).toBe('./20261123T175533Z-orders.report.html');
    expect(fileHref('javascript:alert(1)')).toBe('./javascript%3Aalert(1)');
    expect(fileHref('../reports/a b#c?.report.json')).toBe('../reports/a%20b%23c%3F.report.json');
    expect(fileHref('x"><script>.html')).toBe('./x%22%3E%3Cscript%3E.html');
  });
});
