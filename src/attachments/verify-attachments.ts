import { readFile } from 'node:fs/promises';
import { s3Sdk } from '../aws/sdk.ts';
import type pg from 'pg';
import { createS3Client, customEndpoint } from '../aws/s3-client.ts';
import { explainS3Error } from '../aws/s3-errors.ts';
import type { RecoveryPoint } from '../model/recovery-point.ts';
import type { CheckResult } from '../model/report.ts';
import { parseS3Uri, s3Uri } from '../sources/s3/s3-uri.ts';
import type { AttachmentManifest } from './attachment-manifest.ts';
import { evaluateAttachmentsCheck, type AttachmentsCheck } from './attachments-check.ts';
import { attachmentManifestPathFor, parseAttachmentManifestsText, readAttachmentManifest } from './manifest-store.ts';
import { restoreAttachments, type AttachmentRestore } from './restore-attachments.ts';
import type { AttachmentSource } from './s3-versioned-source.ts';

/** The `attachments` drill option: the versioned sources to restore, and database ↔ files checks (each brings its source). */
export type AttachmentsOption = readonly (AttachmentSource | AttachmentsCheck)[];

/** What the verify phase needs to restore and check attachments. */
export interface VerifyAttachmentsContext {
  /** The restored database. */
  readonly db: pg.ClientBase;
  readonly recoveryPoint: RecoveryPoint;
  readonly runId: string;
  readonly drillName: string;
  readonly signal?: AbortSignal;
  readonly log: (line: string) => void;
}

/** The checks of the attachments, and `remove()` for teardown (the restored directories). */
export interface VerifiedAttachments {
  readonly checks: CheckResult[];
  remove(): Promise<void>;
}

/**
 * The verify step of a drill's `attachments`: restores each source to the recovery point's time, compares it
 * with the newest attachment manifest (in the restored database, or beside the dump), and runs each
 * `attachmentsCheck` against the restored objects. A source that cannot be restored (no versioning, no access)
 * becomes a failed check naming why; an interrupt is rethrown. Call `remove()` at teardown, also on failure.
 *
 * @example
 * const attachments = await verifyAttachments(run.attachments, { db, recoveryPoint, runId, drillName, log });
 * try { checks.push(...attachments.checks); } finally { await attachments.remove(); }
 */
export async function verifyAttachments(
  option: AttachmentsOption,
  context: VerifyAttachmentsContext,
): Promise<VerifiedAttachments> {
  const sources = [
    ...new Set(option.map((item) => ('kind' in item && item.kind === 'attachments' ? item.source : item))),
  ];
  const restores = new Map<AttachmentSource, AttachmentRestore>();
  const remove = async () => {
    for (const restore of restores.values()) await restore.remove();
  };
  const checks: CheckResult[] = [];
  try {
    for (const source of sources) {
      try {
        const manifest = await findManifest(source, context);
        context.log(
          `verify: restoring ${source.describe()}${manifest ? `, comparing with the attachment manifest of ${manifest.at}` : ''}`,
        );
        const restore = await restoreAttachments(source, {
          recoveryPointAt: context.recoveryPoint.createdAt,
          manifest,
          runId: context.runId,
          drillName: context.drillName,
          signal: context.signal,
          log: context.log,
        });
        restores.set(source, restore);
        checks.push(...restore.checks);
      } catch (error) {
        context.signal?.throwIfAborted();
        checks.push(failedSource(source, error));
      }
    }
    for (const item of option) {
      if (!('kind' in item) || item.kind !== 'attachments') continue;
      const restore = restores.get(item.source);
      if (restore) checks.push(await evaluateAttachmentsCheck(item, context.db, restore.restored));
      else
        checks.push({
          name: `attachments referenced by ${item.query.trim()}`,
          status: 'skipped',
          expected: 'every referenced key restored with a non-zero size',
          actual: null,
          detail: `${item.source.describe()} was not restored`,
        });
    }
  } catch (error) {
    await remove();
    throw error;
  }
  return { checks, remove };
}

function failedSource(source: AttachmentSource, error: unknown): CheckResult {
  return {
    name: `attachments restored ${s3Uri(source.bucket, source.prefix)}`,
    status: 'failed',
    expected: 'the bucket restored to the recovery point',
    actual: 'not restored',
    detail:
      (error as Error).message + ((error as { hint?: string }).hint ? ` — ${(error as { hint?: string }).hint}` : ''),
  };
}

/** The newest attachment manifest of the source: in the restored database, or beside the dump (`.attachments.json`). */
async function findManifest(
  source: AttachmentSource,
  context: VerifyAttachmentsContext,
): Promise<AttachmentManifest | null> {
  const inDatabase = await readAttachmentManifest(context.db, source.bucket, source.prefix);
  const beside =
    (await besideDump(context.recoveryPoint)).find((m) => m.bucket === source.bucket && m.prefix === source.prefix) ??
    null;
  if (!inDatabase || !beside) return inDatabase ?? beside;
  return beside.at > inDatabase.at ? beside : inDatabase;
}

async function besideDump(point: RecoveryPoint): Promise<AttachmentManifest[]> {
  const { GetObjectCommand } = await s3Sdk();
  const path = attachmentManifestPathFor(point.id);
  if (point.source === 'file') {
    const text = await readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return null;
      throw error;
    });
    return text === null ? [] : parseAttachmentManifestsText(text, path);
  }
  if (point.source !== 's3-dump') return [];
  const { bucket, key } = parseS3Uri(path);
  try {
    const response = await (await createS3Client()).send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return parseAttachmentManifestsText(await response.Body!.transformToString('utf8'), path);
  } catch (error) {
    if ((error as Error).name === 'NoSuchKey') return [];
    throw explainS3Error(error, { uri: path, bucket, endpoint: customEndpoint() });
  }
}
