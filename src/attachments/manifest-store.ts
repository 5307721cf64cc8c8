import pg from 'pg';
import { ConfigError } from '../errors.ts';
import { pinSessionSettings } from '../markers/checksum-sql.ts';
import { setRole } from '../markers/connection-pool.ts';
import { connectionFromUrl } from '../markers/connection-url.ts';
import { assertMarkerTableSafe } from '../markers/take-marker.ts';
import { parseAttachmentManifest, type AttachmentManifest } from './attachment-manifest.ts';

/** The table `mark --s3` writes attachment manifests into, beside `restore_drill.markers`. */
export const ATTACHMENT_MANIFEST_TABLE = 'restore_drill.attachment_manifests';
const COLUMNS = ['id', 'marker_id', 'taken_at', 'manifest'];

/**
 * Writes an attachment manifest into `restore_drill.attachment_manifests` of production (creating the table when
 * missing), next to the marker it was taken with: the only other row `mark --s3` writes. The table is checked
 * first like the markers table (plain, ours, no triggers, rules or policies), so the insert runs nobody's code.
 *
 * @example
 * await writeAttachmentManifest(url, marker.id, manifest);
 */
export async function writeAttachmentManifest(
  url: string,
  markerId: string,
  manifest: AttachmentManifest,
  options: { role?: string } = {},
): Promise<void> {
  const client = new pg.Client(connectionFromUrl(url).clientConfig);
  await client.connect();
  try {
    if (options.role !== undefined) await setRole(client, options.role);
    await pinSessionSettings(client);
    const exists = (
      await client.query<{ t: boolean }>(`select to_regclass('${ATTACHMENT_MANIFEST_TABLE}') is not null as t`)
    ).rows[0]!.t;
    if (!exists) {
      await client.query(
        `create table if not exists ${ATTACHMENT_MANIFEST_TABLE} (id bigserial primary key, marker_id bigint not null, taken_at timestamptz not null default now(), manifest jsonb not null)`,
      );
    }
    await client.query('begin');
    await assertMarkerTableSafe(client, { name: ATTACHMENT_MANIFEST_TABLE, columns: COLUMNS });
    await client.query(`insert into ${ATTACHMENT_MANIFEST_TABLE} (marker_id, manifest) values ($1, $2)`, [
      markerId,
      JSON.stringify(manifest),
    ]);
    await client.query('commit');
  } finally {
    await client.end();
  }
}

/**
 * The newest attachment manifest of `bucket`/`prefix` in a restored database (by its `at`), validated as
 * untrusted input; `null` when the copy holds none.
 *
 * @example
 * const manifest = await readAttachmentManifest(db, 'acme-attachments', 'uploads/');
 */
export async function readAttachmentManifest(
  client: pg.ClientBase,
  bucket: string,
  prefix: string,
): Promise<AttachmentManifest | null> {
  const exists = (
    await client.query<{ t: boolean }>(`select to_regclass('${ATTACHMENT_MANIFEST_TABLE}') is not null as t`)
  ).rows[0]!.t;
  if (!exists) return null;
  const { rows } = await client.query<{ id: string; manifest: unknown }>(
    `select id::text, manifest from ${ATTACHMENT_MANIFEST_TABLE}
      where manifest->>'bucket' = $1 and manifest->>'prefix' = $2
      order by manifest->>'at' desc, id desc limit 1`,
    [bucket, prefix],
  );
  if (!rows[0]) return null;
  return parseAttachmentManifest(rows[0].manifest, `#${rows[0].id} in ${ATTACHMENT_MANIFEST_TABLE}`);
}

/** Suffix of the attachment manifest `dump --s3` writes beside a dump. */
export const ATTACHMENTS_SUFFIX = '.attachments.json';

/**
 * Where the attachment manifest of a dump lives: `<dump path without trailing slash>.attachments.json`.
 *
 * @example
 * attachmentManifestPathFor('backups/shop.dump'); // 'backups/shop.dump.attachments.json'
 */
export function attachmentManifestPathFor(dumpPath: string): string {
  return `${dumpPath.replace(/\/+$/, '')}${ATTACHMENTS_SUFFIX}`;
}

/**
 * Parses the text of the attachment manifest file beside a dump: a JSON array, one manifest per `--s3` prefix.
 *
 * @example
 * parseAttachmentManifestsText(await readFile(path, 'utf8'), path);
 */
export function parseAttachmentManifestsText(text: string, label: string): AttachmentManifest[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ConfigError(
      `attachment manifest ${label} is not valid JSON`,
      'take a new one with `restore-drill dump --s3`',
    );
  }
  if (!Array.isArray(value))
    throw new ConfigError(
      `attachment manifest ${label} is not a JSON array`,
      'take a new one with `restore-drill dump --s3`',
    );
  return value.map((item, i) => parseAttachmentManifest(item, `${label}[${i}]`));
}
