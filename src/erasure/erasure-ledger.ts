import { readFile } from 'node:fs/promises';
import { s3Sdk } from '../aws/sdk.ts';
import pg from 'pg';
import { createS3Client, customEndpoint } from '../aws/s3-client.ts';
import { explainS3Error } from '../aws/s3-errors.ts';
import { ConfigError } from '../errors.ts';
import { connectionFromUrl } from '../markers/connection-url.ts';
import { parseS3Uri } from '../sources/s3/s3-uri.ts';

/** One erasure request of the production ledger. */
export interface ErasureRequest {
  readonly subjectId: string;
  readonly erasedAt: Date;
}

/**
 * Where the erasure requests come from:
 * - `{ query, urlEnv }` (or `url`): SQL run against production through a read-only connection, returning
 *   `subject_id, erased_at` (the first two columns);
 * - `{ file }`: a CSV file with the header `subject_id,erased_at`;
 * - `{ s3 }`: the same CSV as an S3 object, `s3://bucket/key`.
 */
export type ErasureLedger =
  | { readonly query: string; readonly url?: string; readonly urlEnv?: string }
  | { readonly file: string }
  | { readonly s3: string };

/**
 * A short description of the ledger for the report (never a URL or a secret).
 *
 * @example
 * describeLedger({ file: 'erasures.csv' }); // 'file erasures.csv'
 */
export function describeLedger(ledger: ErasureLedger): string {
  if ('query' in ledger) return `production query ${JSON.stringify(ledger.query.trim())}`;
  if ('file' in ledger) return `file ${ledger.file}`;
  return ledger.s3;
}

/**
 * Reads every erasure request of the ledger. A query runs as one statement (extended protocol: no `;`-chained
 * second statement) inside a READ ONLY transaction of a session whose default is read-only too: a ledger query
 * that tries to write is refused by PostgreSQL and fails with one line. Nothing is ever written to production.
 *
 * @example
 * const requests = await readErasureLedger({ query: 'select subject_id, erased_at from gdpr.erasures', urlEnv: 'PROD_DATABASE_URL' });
 */
export async function readErasureLedger(
  ledger: ErasureLedger,
  env: NodeJS.ProcessEnv = process.env,
): Promise<ErasureRequest[]> {
  const { GetObjectCommand } = await s3Sdk();
  if ('query' in ledger) return queryLedger(ledger, env);
  if ('file' in ledger) {
    const text = await readFile(ledger.file, 'utf8').catch((error: NodeJS.ErrnoException) => {
      throw new ConfigError(
        `cannot read the erasure ledger ${ledger.file}: ${error.code ?? error.message}`,
        'check the path of the ledger file',
      );
    });
    return parseLedgerCsv(text, ledger.file);
  }
  const { bucket, key } = parseS3Uri(ledger.s3);
  try {
    const response = await (await createS3Client()).send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return parseLedgerCsv(await response.Body!.transformToString('utf8'), ledger.s3);
  } catch (error) {
    throw explainS3Error(error, { uri: ledger.s3, bucket, endpoint: customEndpoint() });
  }
}

async function queryLedger(
  ledger: { readonly query: string; readonly url?: string; readonly urlEnv?: string },
  env: NodeJS.ProcessEnv,
): Promise<ErasureRequest[]> {
  const url = ledger.url ?? (ledger.urlEnv ? env[ledger.urlEnv] : undefined);
  if (!url) {
    throw new ConfigError(
      ledger.urlEnv
        ? `the erasure ledger's connection variable ${ledger.urlEnv} is not set`
        : 'the erasure ledger query needs a connection',
      'give { query, urlEnv: NAME } with the production URL in that environment variable (a read-only role is best)',
    );
  }
  const config = connectionFromUrl(url).clientConfig;
  const client = new pg.Client({
    ...config,
    options: `${config.options ?? ''} -c default_transaction_read_only=on`.trim(),
  });
  await client.connect();
  try {
    await client.query('begin transaction isolation level repeatable read read only');
    // queryMode 'extended': the parse step accepts one statement only, so nothing can follow a `;`.
    const result = await client.query({
      text: ledger.query,
      rowMode: 'array',
      queryMode: 'extended',
    } as pg.QueryArrayConfig);
    await client.query('rollback');
    return (result.rows as unknown[][]).map((row, i) => request(row[0], row[1], `row ${i + 1} of the ledger query`));
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === '25006') {
      throw new ConfigError(
        'the erasure ledger query tried to write to production and was refused (read-only connection)',
        'make the ledger query a plain select of subject_id, erased_at',
      );
    }
    if (code === '42601' && /multiple commands/i.test((error as Error).message)) {
      throw new ConfigError(
        'the erasure ledger query holds more than one statement',
        'give one select of subject_id, erased_at',
      );
    }
    if (code)
      throw new ConfigError(
        `the erasure ledger query failed: ${(error as Error).message}`,
        'fix the query; it must return subject_id, erased_at',
      );
    throw error;
  } finally {
    await client.end();
  }
}

/**
 * Parses a ledger CSV: a header `subject_id,erased_at`, then one request per line; fields may be double-quoted
 * (with `""` for a quote). Blank lines are skipped; anything else that is not two fields fails naming the line.
 *
 * @example
 * parseLedgerCsv('subject_id,erased_at\n42,2026-11-20T10:00:00Z\n', 'erasures.csv'); // [{ subjectId: '42', erasedAt: … }]
 */
export function parseLedgerCsv(text: string, label: string): ErasureRequest[] {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const header = splitCsvLine(lines[0] ?? '').map((h) => h.trim().toLowerCase());
  if (header[0] !== 'subject_id' || header[1] !== 'erased_at') {
    throw new ConfigError(
      `erasure ledger ${label} does not start with the header subject_id,erased_at`,
      'write one request per line: subject_id,erased_at (ISO 8601)',
    );
  }
  const requests: ErasureRequest[] = [];
  lines.slice(1).forEach((line, i) => {
    if (!line.trim()) return;
    const fields = splitCsvLine(line);
    if (fields.length !== 2)
      throw new ConfigError(
        `erasure ledger ${label} line ${i + 2}: expected 2 fields, found ${fields.length}`,
        'write subject_id,erased_at; quote a subject id that holds a comma',
      );
    requests.push(request(fields[0], fields[1], `line ${i + 2} of ${label}`));
  });
  return requests;
}

function splitCsvLine(line: string): string[] {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"' && field === '') quoted = true;
    else if (c === ',') {
      fields.push(field);
      field = '';
    } else field += c;
  }
  fields.push(field);
  return fields;
}

function request(subject: unknown, erasedAt: unknown, where: string): ErasureRequest {
  // The subject id itself is never put in a message: it is personal data.
  const id =
    typeof subject === 'string'
      ? subject.trim()
      : typeof subject === 'number' || typeof subject === 'bigint'
        ? String(subject)
        : '';
  if (id === '')
    throw new ConfigError(
      `erasure ledger ${where}: subject_id is empty or not text`,
      'every request needs a subject_id (text or a number)',
    );
  const time = erasedAt instanceof Date ? erasedAt : new Date(typeof erasedAt === 'string' ? erasedAt.trim() : NaN);
  if (Number.isNaN(time.getTime()))
    throw new ConfigError(
      `erasure ledger ${where}: erased_at is not a time`,
      'write erased_at as ISO 8601, e.g. 2026-11-20T10:00:00Z',
    );
  return { subjectId: id, erasedAt: time };
}
