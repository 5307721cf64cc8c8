import { z } from 'zod';
import { objectFingerprintSchema } from '../model/object-fingerprint.ts';
import type { MarkerManifest, TableMarker, WalMarker } from '../model/marker.ts';

// Markers are read back from restored databases and from files beside dumps, possibly written by another
// version of restore-drill: their shape is checked before any number in them is trusted.

const decimal = z.string().regex(/^-?\d+$/, 'expected an integer as a decimal string');

const rangeLayout = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('integer'),
    column: z.string(),
    min: decimal,
    width: decimal,
    buckets: z.number().int().positive(),
  }),
  z.object({ kind: z.literal('hash'), columns: z.array(z.string()).nullable(), buckets: z.number().int().positive() }),
]);

const tableMarker = z.object({
  mode: z.enum(['append-only', 'exact', 'count']),
  algorithm: z.string(),
  rows: z.number().int().nonnegative(),
  checksum: decimal.optional(),
  bound: z.object({ column: z.string(), value: decimal.nullable() }).optional(),
  tolerance: z.number().nonnegative().optional(),
  ranges: z
    .object({
      layout: rangeLayout,
      sums: z.array(z.object({ bucket: z.number().int(), rows: z.number().int().nonnegative(), sum: decimal })),
    })
    .optional(),
  notHashed: z.string().optional(),
  typed: z.object({ algorithm: z.string(), serverMajor: z.number().int().positive(), checksum: decimal }).optional(),
  schema: z
    .object({ columns: z.array(z.string()), indexes: z.array(z.string()), constraints: z.array(z.string()) })
    .optional(),
});

/** Schema of the `tables` jsonb of a marker: table name → {@link TableMarker}. */
export const markerTablesSchema = z.record(z.string(), tableMarker);

/** Schema of a {@link MarkerManifest} file. */
export const markerManifestSchema = z.object({
  format: z.literal('restore-drill.manifest/v1'),
  takenAt: z.iso.datetime({ offset: true }),
  serverVersion: z.string(),
  database: z.string(),
  tables: markerTablesSchema,
  objects: objectFingerprintSchema.optional(),
});

/** Checks a marker's `tables`; returns the problem as one line, or the typed value. */
export function parseMarkerTables(value: unknown): { tables: Record<string, TableMarker> } | { problem: string } {
  const result = markerTablesSchema.safeParse(value);
  return result.success ? { tables: result.data } : { problem: oneLine(result.error) };
}

/** Checks a manifest; returns the problem as one line, or the typed value. */
export function parseMarkerManifest(value: unknown): { manifest: MarkerManifest } | { problem: string } {
  const result = markerManifestSchema.safeParse(value);
  return result.success ? { manifest: result.data } : { problem: oneLine(result.error) };
}

function oneLine(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid';
  const path = issue.path.length > 0 ? ` at ${issue.path.join('.')}` : '';
  const more = error.issues.length > 1 ? ` (and ${error.issues.length - 1} more problems)` : '';
  return `${issue.message}${path}${more}`;
}

const walMarkerSchema = z.object({
  format: z.literal('restore-drill.wal-marker/v1'),
  id: z.string().regex(/^\d+$/),
  takenAt: z.iso.datetime({ offset: true }),
  lsn: z.string().regex(/^[0-9A-F]{1,8}\/[0-9A-F]{1,8}$/),
  snapshot: z.string().regex(/^\d+:\d+:(\d+(,\d+)*)?$/),
  tables: markerTablesSchema,
  objects: objectFingerprintSchema.optional(),
});

/** Checks a marker read from the WAL (see wal-marker.ts); returns the problem as one line, or the typed value. */
export function parseWalMarker(value: unknown): { marker: WalMarker } | { problem: string } {
  const result = walMarkerSchema.safeParse(value);
  return result.success ? { marker: result.data } : { problem: oneLine(result.error) };
}
