import { formatDuration } from '../../util/duration.ts';
import type { SignatureCheck } from '../history.ts';
import type { DrillStatus, ObjectiveResult } from '../../model/report.ts';
import { escapeHtml } from './escape.ts';

const STATUS_TEXT: Record<DrillStatus, string> = { passed: 'PASSED', failed: 'FAILED', error: 'ERROR' };

/**
 * A coloured badge for a drill status.
 *
 * @example
 * statusBadge('failed'); // '<span class="badge failed">FAILED</span>'
 */
export function statusBadge(status: DrillStatus): string {
  return `<span class="badge ${escapeHtml(status)}" data-status="${escapeHtml(status)}">${escapeHtml(STATUS_TEXT[status] ?? status)}</span>`;
}

/**
 * What a page says about one signature: verified with which key, invalid and why, or not checked.
 *
 * @example
 * signatureText({ state: 'verified', keyid: 'sha256:ab…' }); // 'Signature verified with key sha256:ab…'
 */
export function signatureText(signature: SignatureCheck): string {
  switch (signature.state) {
    case 'verified':
      return `Signature verified with key ${signature.keyid}`;
    case 'invalid':
      return `Signature INVALID for key ${signature.keyid}: ${signature.reason}`;
    case 'unchecked':
      return `Signature not checked (no public key given)${signature.keyid ? `; the envelope names key ${signature.keyid}` : ''}`;
  }
}

/**
 * A short table cell for a signature.
 *
 * @example
 * signatureCell({ state: 'invalid', keyid: 'sha256:ab', reason: 'signature does not match' });
 */
export function signatureCell(signature: SignatureCheck): string {
  const text =
    signature.state === 'verified'
      ? '✓ verified'
      : signature.state === 'invalid'
        ? `✗ INVALID: ${signature.reason}`
        : 'not checked';
  const css = signature.state === 'verified' ? 'yes' : signature.state === 'invalid' ? 'no' : 'none';
  return `<span class="${css}" data-signature="${escapeHtml(signature.state)}" title="${escapeHtml(signatureText(signature))}">${escapeHtml(text)}</span>`;
}

/**
 * An objective as `✓ 3m 07s of 15m 00s`, coloured by whether it was met.
 *
 * @example
 * objectiveCell({ targetSeconds: 900, actualSeconds: 187, met: true });
 */
export function objectiveCell(objective: ObjectiveResult): string {
  const actual = objective.actualSeconds === null ? '—' : formatDuration(objective.actualSeconds);
  const target = objective.targetSeconds === null ? 'no target' : `of ${formatDuration(objective.targetSeconds)}`;
  const mark = objective.met === null ? '' : objective.met ? '✓ ' : '✗ ';
  const css = objective.met === null ? 'none' : objective.met ? 'yes' : 'no';
  const met = objective.met === null ? 'unknown' : String(objective.met);
  return `<span class="${css}" data-met="${met}">${escapeHtml(`${mark}${actual}`)}</span> <span class="meta">${escapeHtml(target)}</span>`;
}

/**
 * A UTC time as `2026-11-23 17:52` for tables.
 *
 * @example
 * shortTime('2026-11-23T17:52:26.000Z'); // '2026-11-23 17:52'
 */
export function shortTime(iso: string): string {
  return iso.slice(0, 16).replace('T', ' ');
}
