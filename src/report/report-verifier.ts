import type { KeyObject } from 'node:crypto';
import { join } from 'node:path';
import { ConfigError } from '../errors.ts';
import { verifyEnvelope } from './dsse.ts';
import { fileDigest, listReportFiles, readReportFile, type ReportFileRead } from './report-files.ts';
import type { DrillReport } from './report-model.ts';
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
  return 'bytes' in read ? verifyReportBytes(path, read.bytes, publicKey) : { file: path, valid: false, reason: read.reason };
}

/**
 * Checks that a report directory is an unbroken ledger: in name order, each report's `previous` is the
 * digest of the file before it, and every report's signature is valid. A deleted, edited or reordered
 * report shows up as a problem naming the file where the chain breaks.
 *
 * @example
 * const { valid, problems } = await verifyLedger('reports', publicKey);
 */
export async function verifyLedger(dir: string, publicKey: KeyObject): Promise<LedgerVerification> {
  let names: string[];
  try {
    names = await listReportFiles(dir);
  } catch (error) {
    throw new ConfigError(`report directory ${dir} is not readable: ${(error as { code?: string }).code ?? error}`);
  }
  const problems: string[] = [];
  const read = await Promise.all(names.map(async (name) => ({ name, read: await readReport(join(dir, name)) })));
  // A file too large (or no longer a file) to be a report is a problem of its own and a gap in the chain.
  for (const { name, read: r } of read) if ('reason' in r) problems.push(`${name}: ${r.reason}`);
  const files = read.flatMap(({ name, read: r }) => ('bytes' in r ? [{ name, bytes: r.bytes }] : []));
  const digests = new Map(files.map((f, i) => [fileDigest(f.bytes), i]));

  files.forEach((file, i) => {
    const result = verifyReportBytes(file.name, file.bytes, publicKey);
    if (!result.valid) problems.push(`${file.name}: ${result.reason}`);
    // An edited report still says what it claims to follow; read it unverified to place the break.
    const previous = result.report ? result.report.previous : unverifiedPrevious(file.bytes);
    // Unreadable means the signature check above has already named this file.
    if (previous === undefined) return;
    const before = files[i - 1];
    const pointsAt = previous === null ? undefined : digests.get(previous);
    if (!before) {
      // The first report may point to an older one that was archived away, but not to one still here.
      if (pointsAt !== undefined) {
        problems.push(`${file.name}: comes first but follows ${files[pointsAt]!.name} (reordered?)`);
      }
      return;
    }
    if (previous === fileDigest(before.bytes)) return;
    if (previous === null) {
      problems.push(`${file.name}: starts a new chain but follows ${before.name} (a report before it was replaced?)`);
    } else if (pointsAt === undefined) {
      problems.push(
        `${file.name}: its previous report ${previous} is not in ${dir}; ` +
          `${before.name} comes before it (a report was deleted or edited?)`,
      );
    } else {
      problems.push(
        `${file.name}: follows ${files[pointsAt]!.name}, not ${before.name} which comes before it (reordered?)`,
      );
    }
  });
  return { valid: problems.length === 0, problems };
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

function unverifiedPrevious(bytes: Buffer): string | null | undefined {
  try {
    const envelope = JSON.parse(bytes.toString('utf8')) as { payload?: unknown };
    if (typeof envelope.payload !== 'string') return undefined;
    const statement = JSON.parse(Buffer.from(envelope.payload, 'base64').toString('utf8'));
    const previous = statement?.predicate?.previous;
    return typeof previous === 'string' || previous === null ? previous : undefined;
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
