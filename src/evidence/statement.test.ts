import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { REPORT_PREDICATE_TYPE } from '../model/report.ts';
import { sampleReport } from '../model/sample-report.fixture.ts';
import { buildStatement, parseStatement, serializeStatement, STATEMENT_TYPE } from './statement.ts';

describe('buildStatement', () => {
  it('names the restored recovery point as the subject', () => {
    const report = sampleReport();
    expect(buildStatement(report)).toEqual({
      _type: STATEMENT_TYPE,
      subject: [{ name: 'backups/orders-2026-11-23.dump', digest: { sha256: 'ab'.repeat(32) } }],
      predicateType: REPORT_PREDICATE_TYPE,
      predicate: report,
    });
  });

  it('falls back to the drill, digested by its canonical report, without a recovery point or digest', () => {
    const noPoint = sampleReport({ recoveryPoint: null, status: 'error' });
    const [subject] = buildStatement(noPoint).subject;
    expect(subject?.name).toBe('drill:Orders DB: nightly dump');
    expect(subject?.digest.sha256).toBe(
      createHash('sha256')
        .update(JSON.stringify(sortKeys(noPoint)))
        .digest('hex'),
    );

    const noDigest = sampleReport({ recoveryPoint: { ...sampleReport().recoveryPoint!, digest: null } });
    expect(buildStatement(noDigest).subject[0]?.name).toBe('drill:Orders DB: nightly dump');
  });
});

describe('serializeStatement', () => {
  it('gives the same bytes whatever the key order of the report', () => {
    const report = sampleReport();
    const reversed = Object.fromEntries(Object.entries(report).reverse()) as typeof report;
    expect(serializeStatement(buildStatement(reversed)).equals(serializeStatement(buildStatement(report)))).toBe(true);
    expect(serializeStatement(buildStatement(report)).toString()).toMatch(/^\{"_type":/);
  });
});

describe('parseStatement', () => {
  it('returns the report of one of our statements', () => {
    const statement = JSON.parse(serializeStatement(buildStatement(sampleReport())).toString());
    expect(parseStatement(statement)).toEqual({ report: sampleReport() });
  });

  it('says why other payloads are not reports', () => {
    const statement = buildStatement(sampleReport());
    expect(parseStatement({ ...statement, _type: 'https://in-toto.io/Statement/v0.1' })).toEqual({
      reason: 'payload is not an in-toto Statement v1',
    });
    expect(parseStatement({ ...statement, predicateType: 'https://slsa.dev/provenance/v1' })).toEqual({
      reason: `predicateType is "https://slsa.dev/provenance/v1", expected ${REPORT_PREDICATE_TYPE}`,
    });
    expect(parseStatement({ ...statement, subject: [] })).toEqual({ reason: 'statement has no subject' });
    expect(parseStatement({ ...statement, predicate: { schema: 'other' } })).toEqual({
      reason: 'predicate is not a restore-drill report v1',
    });
    expect(parseStatement('text')).toEqual({ reason: 'payload is not an in-toto Statement v1' });
  });
});

/** Sorted keys: with the plain strings and numbers in these reports, what RFC 8785 produces. */
function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}
