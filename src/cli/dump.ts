import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { Option, type Command } from 'commander';
import { redactUrl } from '../util/redact.ts';
import { dumpWithManifest } from '../verify/dump-with-manifest.ts';
import { EXIT } from './main.ts';
import { withInterruptSignal } from '../drill/interrupt.ts';

/** `restore-drill dump --url URL --out PATH|s3://B/K`: pg_dump plus a manifest from the same snapshot. */
export function registerDumpCommand(program: Command, setExit: (code: number) => void): Command {
  return program
    .command('dump')
    .description('pg_dump a database and write a marker manifest taken in the same snapshot beside the dump')
    .requiredOption('--url <url>', 'postgres:// URL of the database to dump')
    .requiredOption('--out <path|s3-uri>', 'a file, a folder ending in / (directory format), s3://bucket/key, or s3://bucket/prefix/ (a new timestamped dump in it)')
    .addOption(new Option('--format <format>', 'archive format (default: directory for a local path ending in /, else custom)').choices(['custom', 'directory']))
    .option('--role <name>', 'SET ROLE to this role after login, for the manifest and pg_dump (e.g. a read-only role with pg_read_all_data)')
    .action(async (opts: { url: string; out: string; format?: 'custom' | 'directory'; role?: string }) => {
      const log = (line: string) => process.stderr.write(`dump: ${line}\n`);
      await withInterruptSignal(async (signal) => {
        if (!opts.out.startsWith('s3://')) {
          const result = await dumpWithManifest(opts.url, opts.out, { signal, log, format: opts.format, role: opts.role });
          process.stdout.write(`dumped ${redactUrl(opts.url)} to ${result.path} (${result.format}); manifest ${result.manifestPath}\n`);
          return;
        }
        // To S3: dump locally into a private temp dir, upload dump and manifest, remove the local copy.
        const { uploadDump } = await import('../sources/upload-dump.ts'); // the AWS SDK loads only for s3://
        const work = await mkdtemp(join(tmpdir(), 'restore-drill-dump-'));
        try {
          const format = opts.format ?? 'custom';
          // Into a prefix (s3://b/p/): a new timestamped dump, so older ones stay and the source picks the latest.
          const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
          const name = opts.out.endsWith('/') ? `dump-${stamp}.${format === 'custom' ? 'dump' : 'dir'}` : basename(opts.out);
          const result = await dumpWithManifest(opts.url, join(work, name), { signal, log, format, role: opts.role });
          const uploaded = await uploadDump(result.path, opts.out, undefined, { log, signal });
          process.stdout.write(`dumped ${redactUrl(opts.url)} to ${uploaded.uri} (${result.format}, ${uploaded.objects} objects, ${uploaded.bytes} bytes) with its manifest\n`);
        } finally {
          await rm(work, { recursive: true, force: true });
        }
      });
      setExit(EXIT.ok);
    });
}
