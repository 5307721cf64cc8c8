import type { Command } from 'commander';
import { redactUrl } from '../util/redact.ts';
import { parseTableSelection, type TableSelection } from '../markers/table-discovery.ts';
import { describeFingerprint } from '../model/object-fingerprint.ts';
import { writeMarker } from '../markers/take-marker.ts';
import { EXIT } from './exit-codes.ts';
import { productionConnectionOptions, productionUrl, type ProductionConnectionFlags } from './production-connection.ts';

/** `restore-drill mark [--url URL | --url-env NAME] [--table NAME[:MODE]…]`: writes a marker into `restore_drill.markers`. */
export function registerMarkCommand(program: Command, setExit: (code: number) => void): Command {
  return program
    .command('mark')
    .description('write a marker (row counts and checksums per table) into restore_drill.markers of a database')
    .addOption(productionConnectionOptions()[0]!)
    .addOption(productionConnectionOptions()[1]!)
    .option(
      '--table <name[:mode]>',
      'a table to mark, repeatable; mode append-only, exact or count (default: chosen per table); default every user table',
      (value: string, previous: TableSelection[] = []) => [...previous, parseTableSelection(value)],
    )
    .option(
      '--role <name>',
      'SET ROLE to this role after login (e.g. a read-only role with pg_read_all_data that owns the restore_drill schema)',
    )
    .option(
      '--s3 <s3-uri>',
      "also record an attachment manifest of this versioned bucket prefix at the marker's time (repeatable)",
      (value: string, previous: string[] = []) => [...previous, value],
    )
    .action(async (opts: ProductionConnectionFlags & { table?: TableSelection[]; role?: string; s3?: string[] }) => {
      const url = productionUrl(opts);
      // Attachments (--s3): the AWS SDK loads only when asked for; a bad bucket fails before production is written.
      const attachments = opts.s3?.length ? await import('../attachments/mark-attachments.ts') : undefined;
      await attachments?.preflightAttachments(opts.s3!);
      const marker = await writeMarker(url, { tables: opts.table, role: opts.role });
      const tables = Object.entries(marker.tables);
      process.stdout.write(
        `marker #${marker.id} written to restore_drill.markers of ${redactUrl(url)} at ${marker.takenAt}\n`,
      );
      for (const [name, table] of tables) {
        const detail =
          table.mode === 'append-only' && table.bound
            ? ` up to ${table.bound.column} ${table.bound.value ?? '(empty table)'}`
            : table.mode === 'count'
              ? ` ±${Math.round((table.tolerance ?? 0) * 100)}%`
              : '';
        process.stdout.write(
          `  ${name}: ${table.rows} rows, ${table.mode}${detail}${table.notHashed ? ` (${table.notHashed})` : ''}\n`,
        );
      }
      if (marker.objects) process.stdout.write(`  ${describeFingerprint(marker.objects)}\n`);
      if (attachments) {
        const manifests = await attachments.takeAttachmentManifests(opts.s3!, new Date(marker.takenAt), {
          log: (line) => process.stderr.write(`mark: ${line}\n`),
        });
        await attachments.recordAttachmentManifests(url, marker.id, manifests, opts.role);
        for (const manifest of manifests)
          process.stdout.write(`  ${attachments.describeAttachmentManifest(manifest)}\n`);
      }
      setExit(EXIT.ok);
    });
}
