import { createHash } from 'node:crypto';
import canonicalizeModule from 'canonicalize';
import { REPORT_PREDICATE_TYPE, type DrillReport } from '../model/report.ts';

// The package is CommonJS with an ESM-style .d.ts: under NodeNext the default import is the function itself.
const canonicalize = canonicalizeModule as unknown as (input: unknown) => string | undefined;

/** The `_type` of an in-toto Statement v1. */
export const STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';

/** What a subject is identified by: today always a SHA-256 hex digest. */
export interface StatementSubject {
  readonly name: string;
  readonly digest: { readonly sha256: string };
}

/** An in-toto Statement v1 whose predicate is one drill's report. The signed payload of every report file. */
export interface ReportStatement {
  readonly _type: typeof STATEMENT_TYPE;
  readonly subject: StatementSubject[];
  readonly predicateType: typeof REPORT_PREDICATE_TYPE;
  readonly predicate: DrillReport;
}

/**
 * Wraps a report in an in-toto Statement. The subject is the recovery point that was restored; without one
 * (or without its digest) it is the drill itself, named `drill:<name>`, because in-toto needs a subject.
 *
 * @example
 * buildStatement(report).subject; // [{ name: 'backups/app.dump', digest: { sha256: '9f2c…' } }]
 */
export function buildStatement(report: DrillReport): ReportStatement {
  const pointDigest = /^sha256:([0-9a-f]{64})$/i.exec(report.recoveryPoint?.digest ?? '')?.[1];
  const subject =
    report.recoveryPoint && pointDigest
      ? { name: report.recoveryPoint.id, digest: { sha256: pointDigest.toLowerCase() } }
      : { name: `drill:${report.drill.name}`, digest: { sha256: sha256Hex(canonicalJson(report)) } };
  return { _type: STATEMENT_TYPE, subject: [subject], predicateType: REPORT_PREDICATE_TYPE, predicate: report };
}

/**
 * The statement as RFC 8785 canonical JSON bytes, so the same report always signs the same payload.
 *
 * @example
 * signEnvelope(serializeStatement(buildStatement(report)), key);
 */
export function serializeStatement(statement: ReportStatement): Buffer {
  return Buffer.from(canonicalJson(statement), 'utf8');
}

/**
 * Checks that a verified payload is one of our statements and returns its report, or says why not.
 *
 * @example
 * const parsed = parseStatement(verified.statement);
 * if ('report' in parsed) console.log(parsed.report.status);
 */
export function parseStatement(value: unknown): { report: DrillReport } | { reason: string } {
  if (typeof value !== 'object' || value === null) return { reason: 'payload is not an in-toto Statement v1' };
  const { _type, subject, predicateType, predicate } = value as Record<string, unknown>;
  if (_type !== STATEMENT_TYPE) return { reason: 'payload is not an in-toto Statement v1' };
  if (predicateType !== REPORT_PREDICATE_TYPE) {
    return { reason: `predicateType is ${JSON.stringify(predicateType)}, expected ${REPORT_PREDICATE_TYPE}` };
  }
  if (!Array.isArray(subject) || subject.length === 0) return { reason: 'statement has no subject' };
  if (
    typeof predicate !== 'object' ||
    predicate === null ||
    (predicate as DrillReport).schema !== 'restore-drill.report/v1'
  ) {
    return { reason: 'predicate is not a restore-drill report v1' };
  }
  return { report: predicate as DrillReport };
}

function canonicalJson(value: unknown): string {
  const json = canonicalize(value);
  // canonicalize returns undefined only for undefined input, which the types above rule out.
  if (json === undefined) throw new TypeError('cannot serialise an undefined value');
  return json;
}

function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}
