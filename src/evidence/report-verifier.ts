import type { KeyObject } from 'node:crypto';
import { basename, join } from 'node:path';
import { ConfigError } from '../errors.ts';
import type { LedgerEntry } from './ledger-head.ts';
import { verifyEnvelope } from './dsse.ts';
import { fileDigest, listReportFiles, readReportFile, type ReportFileRead } from './report-files.ts';
import type { DrillReport } from '../model/report.ts';
import { parseStatement } from './statement.ts';

/** The verdict on one report file. */
export interface ReportVerification {
  readonly file: string;
  readonly valid: boolean;
  /** Why it is not valid, one line. */
  readonly reason?: string;
  /** The signed report, when valid. */
  readonly report?: DrillReport;
}

/** The verdict on a report directory's chain; each problem names the file it was found in. */
export interface LedgerVerification {
  readonly valid: boolean;
  readonly problems: string[];
  /** Every report file in ledger order, with its signed position and digest (for the head and staleness checks). */
  readonly entries: LedgerEntry[];
}

/**
 * Checks a `.report.json`: a DSSE envelope signed by `publicKey` holding an in-toto Statement with a
 * restore-drill report. Throws `ConfigError` only when the file cannot be read; a bad file is a result.
 *
 * @example
 * const result = await verifyReportFile('reports/20261123T175226Z-orders.report.json', publicKey);
 * console.log(result.valid ? result.report?.status : result.reason);
 */
export async function verifyReportFile(path: string, publicKey: KeyObject): Promise<ReportVerification> {
  const read = await readReport(path, true);
  if (!('bytes' in read)) return { file: path, valid: false, reason: read.reason };
  const result = verifyReportBytes(path, read.bytes, publicKey);
  const renamed = result.report && renameProblem(basename(path), result.report);
  return renamed ? { file: path, valid: false, reason: renamed } : result;
}

/**
 * Checks that a report directory is an unbroken ledger: in name order, each report's `previous` is the
 * digest of the file before it, its `position` one more than that file's, the first report starts the
 * chain (position 1, no `previous`), every file carries the name it was signed with, and every report's
 * signature is valid. A deleted, edited, renamed or reordered report shows up as a problem naming the file
 * where the chain breaks. Reports removed from the end are only seen against a head kept elsewhere
 * ({@link checkHead}).
 *
 * @example
 * const { valid, problems } = await verifyLedger('reports', publicKey);
 */
export async function verifyLedger(dir: string, publicKey: KeyObject): Promise<LedgerVerification> {
  let names: string[];
  try {
    names = await listReportFiles(dir);
  } catch (error) {
    throw new ConfigError(
      `report directory ${dir} is not readable: ${(error as { code?: string }).code ?? String(error)}`,
    );
  }
  const problems: string[] = [];
  const entries: LedgerEntry[] = [];
  const read = await Promise.all(names.map(async (name) => ({ name, read: await readReport(join(dir, name)) })));
  // A file too large (or no longer a file) to be a report is a problem of its own and a gap in the chain.
  for (const { name, read: r } of read) if ('reason' in r) problems.push(`${name}: ${r.reason}`);
  const files = read.flatMap(({ name, read: r }) => ('bytes' in r ? [{ name, bytes: r.bytes }] : []));
  const digests = new Map(files.map((f, i) => [fileDigest(f.bytes), i]));

  files.forEach((file, i) => {
    const result = verifyReportBytes(file.name, file.bytes, publicKey);
    if (!result.valid) problems.push(`${file.name}: ${result.reason}`);
    // An edited report still says what it claims; read it unverified to place the break.
    const claimed = result.report ?? unverifiedPredicate(file.bytes);
    entries.push(toEntry(file.name, fileDigest(file.bytes), claimed));
    if (result.report) {
      const renamed = renameProblem(file.name, result.report);
      if (renamed) problems.push(`${file.name}: ${renamed}`);
    }
    const previous = claimed?.previous;
    // Unreadable means the signature check above has already named this file.
    if (previous === undefined) return;
    const position = entries[i]!.position;
    const before = files[i - 1];
    const pointsAt = previous === null ? undefined : digests.get(previous);
    if (!before) {
      if (pointsAt !== undefined) {
        problems.push(`${file.name}: comes first but follows ${files[pointsAt]!.name} (reordered?)`);
      } else if (position !== null && position > 1) {
        problems.push(
          `${file.name}: comes first but is position ${position} of its chain: ${position - 1} earlier report(s) missing (the oldest were removed?)`,
        );
      } else if (previous !== null) {
        problems.push(
          `${file.name}: comes first but follows ${previous}, which is not in ${dir} (the oldest report(s) were removed?)`,
        );
      }
      return;
    }
    const beforePosition = entries[i - 1]!.position;
    const gap = position !== null && beforePosition !== null ? position - beforePosition - 1 : null;
    if (previous === fileDigest(before.bytes)) {
      if (gap !== null && gap !== 0)
        problems.push(`${file.name}: follows ${before.name} (position ${beforePosition}) but is position ${position}`);
      return;
    }
    if (previous === null) {
      problems.push(`${file.name}: starts a new chain but follows ${before.name} (a report before it was replaced?)`);
    } else if (pointsAt === undefined) {
      const where =
        gap !== null && gap > 0
          ? `: ${gap} report(s) missing after ${before.name} (position ${beforePosition})`
          : `; ${before.name} comes before it`;
      problems.push(
        `${file.name}: its previous report ${previous} is not in ${dir}${where} (a report was deleted or edited?)`,
      );
    } else {
      problems.push(
        `${file.name}: follows ${files[pointsAt]!.name}, not ${before.name} which comes before it (reordered?)`,
      );
    }
  });
  return { valid: problems.length === 0, problems, entries };
}

/** Why a file does not carry the name its report was signed with, or null when it does (or the report predates signed names). */
function renameProblem(file: string, report: DrillReport): string | null {
  if (typeof report.reportFile !== 'string' || report.reportFile === file) return null;
  return `was signed as ${report.reportFile} (renamed?)`;
}

function toEntry(file: string, digest: string, report: Partial<DrillReport> | undefined): LedgerEntry {
  const position = report?.position;
  return {
    file,
    position: typeof position === 'number' && Number.isSafeInteger(position) && position > 0 ? position : null,
    digest,
    drill: typeof report?.drill?.name === 'string' ? report.drill.name : null,
    finishedAt: typeof report?.finishedAt === 'string' ? report.finishedAt : null,
    cadence: typeof report?.cadence === 'string' ? report.cadence : null,
  };
}

function verifyReportBytes(file: string, bytes: Buffer, publicKey: KeyObject): ReportVerification {
  let envelope: unknown;
  try {
    envelope = JSON.parse(bytes.toString('utf8'));
  } catch {
    return { file, valid: false, reason: 'not a DSSE envelope: not JSON' };
  }
  const verified = verifyEnvelope(envelope, publicKey);
  if (!verified.valid) return { file, valid: false, reason: verified.reason };
  const parsed = parseStatement(verified.statement);
  if ('reason' in parsed) return { file, valid: false, reason: parsed.reason };
  return { file, valid: true, report: parsed.report };
}

/** The predicate read without checking the signature, or undefined when the file is not even that. */
function unverifiedPredicate(bytes: Buffer): (Partial<DrillReport> & { previous: string | null }) | undefined {
  try {
    const envelope = JSON.parse(bytes.toString('utf8')) as { payload?: unknown };
    if (typeof envelope.payload !== 'string') return undefined;
    type Unverified = Partial<DrillReport> & { previous?: unknown };
    const statement = JSON.parse(Buffer.from(envelope.payload, 'base64').toString('utf8')) as {
      predicate?: Unverified;
    } | null;
    const predicate = statement?.predicate;
    const previous = predicate?.previous;
    return typeof previous === 'string' || previous === null ? { ...predicate, previous } : undefined;
  } catch {
    return undefined;
  }
}

async function readReport(path: string, followSymlink = false): Promise<ReportFileRead> {
  try {
    return await readReportFile(path, { followSymlink });
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'ENOENT') throw new ConfigError(`report not found: ${path}`);
    throw new ConfigError(`report ${path} is not readable: ${code ?? (error as Error).message}`);
  }
}
