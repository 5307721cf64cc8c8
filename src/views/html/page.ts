import { escapeHtml } from './escape.ts';

/**
 * A complete, self-contained HTML document: inline CSS, no script, and a Content Security Policy that
 * forbids loading anything, so the page opens offline and cannot call out when an auditor opens it.
 *
 * @example
 * await writeFile('x.html', htmlPage('Restore drill: orders', '<h1>…</h1>'));
 */
export function htmlPage(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="restore-drill">
<title>${escapeHtml(title)}</title>
<style>${CSS}</style>
</head>
<body>
<main>
${body}
</main>
</body>
</html>
`;
}

const CSS = `
:root { --ok: #1a7f37; --bad: #cf222e; --warn: #9a6700; --muted: #59636e; --line: #d1d9e0; --soft: #f6f8fa; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: #1f2328; background: #fff; }
main { max-width: 1000px; margin: 0 auto; padding: 24px 28px 48px; }
h1 { font-size: 26px; margin: 0 0 6px; display: flex; gap: 12px; align-items: center; flex-wrap: wrap; }
h2 { font-size: 19px; margin: 32px 0 10px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
h3 { font-size: 16px; margin: 22px 0 8px; }
p { margin: 6px 0; }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 13px; word-break: break-all; }
a { color: #0969da; }
.meta { color: var(--muted); }
.badge { display: inline-block; padding: 2px 10px; border-radius: 999px; font-size: 14px; font-weight: 600; color: #fff; }
.badge.passed, .badge.verified { background: var(--ok); }
.badge.failed, .badge.invalid { background: var(--bad); }
.badge.error, .badge.unchecked { background: var(--warn); }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(200px, 1fr)); gap: 12px; margin: 16px 0; }
.card { border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px; background: var(--soft); }
.card .label { color: var(--muted); font-size: 13px; }
.card .value { font-size: 20px; font-weight: 600; }
.card .detail { font-size: 13px; color: var(--muted); }
.panel { border: 1px solid var(--line); border-left-width: 5px; border-radius: 6px; padding: 10px 14px; margin: 12px 0; }
.panel.verified, .panel.ok { border-left-color: var(--ok); }
.panel.invalid, .panel.bad { border-left-color: var(--bad); }
.panel.unchecked, .panel.warn { border-left-color: var(--warn); }
.panel.failures h2 { margin-top: 0; }
.panel.failures ol, .panel.failures ul { margin: 6px 0 0; }
table { border-collapse: collapse; width: 100%; margin: 8px 0; font-size: 14px; }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: var(--soft); font-weight: 600; }
td.nowrap, .nowrap { white-space: nowrap; }
td.num, th.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
tr.check-failed td, tr.run-failed td, tr.run-error td { background: #ffebe9; }
tr.check-skipped td { color: var(--muted); }
tr.drill td { border-bottom: none; }
tr.drill-forecast td { padding-top: 0; font-size: 13px; }
tr.sig-invalid td { background: #fff1e5; }
.yes { color: var(--ok); font-weight: 600; }
.no { color: var(--bad); font-weight: 600; }
.none { color: var(--muted); }
figure.chart { margin: 12px 0 18px; }
figure.chart figcaption { font-weight: 600; font-size: 14px; margin-bottom: 4px; }
figure.chart svg { width: 100%; height: auto; display: block; }
svg text { font: 11px system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; fill: #3d444d; }
svg .grid { stroke: #e6e9ec; stroke-width: 1; }
svg .series { fill: none; stroke: #0969da; stroke-width: 2; }
svg .point.pass { fill: #0969da; }
svg .point.fail { fill: var(--bad); }
svg .target { stroke: var(--bad); stroke-width: 1.5; stroke-dasharray: 6 4; }
svg .target-label { fill: var(--bad); font-weight: 600; }
svg .trend { stroke: #8250df; stroke-width: 2; stroke-dasharray: 2 4; stroke-linecap: round; }
svg .forecast-area { fill: #f3effc; }
svg .note { fill: #8250df; font-style: italic; }
svg .mark-passed circle { fill: var(--ok); }
svg .mark path { stroke-width: 2.5; stroke-linecap: round; }
svg .mark-failed path { stroke: var(--bad); }
svg .mark-error path { stroke: var(--warn); }
figure.chart .legend { color: var(--muted); font-size: 12px; margin: 2px 0 0; }
svg .breach { stroke: var(--bad); stroke-width: 1; stroke-dasharray: 2 3; }
svg .breach-label { fill: var(--bad); font-weight: 600; }
svg .phase-ok { fill: #54aeff; }
svg .phase-failed { fill: var(--bad); }
svg .phase-interrupted { fill: var(--warn); }
svg .label { font-weight: 600; font-size: 12px; }
.forecast { font-weight: 600; }
.empty { color: var(--muted); font-style: italic; }
footer { margin-top: 40px; color: var(--muted); font-size: 13px; border-top: 1px solid var(--line); padding-top: 10px; }
@media print { main { max-width: none; } h2 { break-after: avoid; } figure.chart, table { break-inside: avoid; } }
`;
