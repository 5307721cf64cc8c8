import type { Command } from 'commander';
import { redactUrl } from '../util/redact.ts';
import { parseTableSelection, type TableSelection } from '../verify/table-discovery.ts';
import { describeFingerprint } from '../markers/object-fingerprint-model.ts';
import { writeMarker } from '../verify/take-marker.ts';
import { EXIT } from './main.ts';

/** `restore-drill mark --url URL [--table NAME[:MODE]…]`: writes a marker into `restore_drill.markers`. */
export function registerMarkCommand(program: Command, setExit: (code: number) => void): Command {
  return program
    .command('mark')
    .description('write a marker (row counts and checksums per table) into restore_drill.markers of a database')
    .requiredOption('--url <url>', 'postgres:// URL of the production database (prefer PGPASSWORD or ~/.pgpass over a password in the URL)')
    .option(
      '--table <name[:mode]>',
      'a table to mark, repeatable; mode append-only, exact or count (default: chosen per table); default every user table',
      (value: string, previous: TableSelection[] = []) => [...previous, parseTableSelection(value)],
    )
    .action(async (opts: { url: string; table?: TableSelection[] }) => {
      const marker = await writeMarker(opts.url, { tables: opts.table });
      const tables = Object.entries(marker.tables);
      process.stdout.write(`marker #${marker.id} written to restore_drill.markers of ${redactUrl(opts.url)} at ${marker.takenAt}\n`);
      for (const [name, table] of tables) {
        const detail = table.mode === 'append-only' && table.bound ? ` up to ${table.bound.column} ${table.bound.value ?? '(empty table)'}` : table.mode === 'count' ? ` ±${Math.round((table.tolerance ?? 0) * 100)}%` : '';
        process.stdout.write(`  ${name}: ${table.rows} rows, ${table.mode}${detail}\n`);
      }
      if (marker.objects) process.stdout.write(`  ${describeFingerprint(marker.objects)}\n`);
      setExit(EXIT.ok);
    });
}
