import { lstat, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { Option, type Command } from 'commander';
import { redactUrl } from '../util/redact.ts';
import { assertUsableTempDir } from '../util/temp-dir.ts';
import { dumpWithManifest } from '../markers/dump-with-manifest.ts';
import { EXIT } from './exit-codes.ts';
import { productionConnectionOptions, productionUrl, type ProductionConnectionFlags } from './production-connection.ts';
import { interruptSignal, signalExitCode, withInterruptSignal } from '../drill/interrupt.ts';
import { newRunId, type ResourceLabel } from '../environments/labels.ts';
import { startReaper } from '../environments/local/reaper.ts';
import { manifestPathFor } from '../markers/dump-manifest.ts';

/** `restore-drill dump [--url URL | --url-env NAME] --out PATH|s3://B/K`: pg_dump plus a manifest from the same snapshot. */
export function registerDumpCommand(program: Command, setExit: (code: number) => void): Command {
  return program
    .command('dump')
    .description('pg_dump a database and write a marker manifest taken in the same snapshot beside the dump')
    .addOption(productionConnectionOptions()[0]!)
    .addOption(productionConnectionOptions()[1]!)
    .requiredOption(
      '--out <path|s3-uri>',
      'a file, a folder ending in / (directory format), s3://bucket/key, or s3://bucket/prefix/ (a new timestamped dump in it)',
    )
    .addOption(
      new Option(
        '--format <format>',
        'archive format (default: directory for a local path ending in /, else custom)',
      ).choices(['custom', 'directory']),
    )
    .option(
      '--role <name>',
      'SET ROLE to this role after login, for the manifest and pg_dump (e.g. a read-only role with pg_read_all_data)',
    )
    .option(
      '--s3 <s3-uri>',
      "also write an attachment manifest of this versioned bucket prefix at the dump's snapshot time beside the dump (repeatable)",
      (value: string, previous: string[] = []) => [...previous, value],
    )
    .action(
      async (
        opts: ProductionConnectionFlags & {
          out: string;
          format?: 'custom' | 'directory';
          role?: string;
          s3?: string[];
        },
      ) => {
        const url = productionUrl(opts);
        // Attachments (--s3): checked before the dump, recorded at the dump snapshot's time after it.
        const attachments = opts.s3?.length ? await import('../attachments/mark-attachments.ts') : undefined;
        await attachments?.preflightAttachments(opts.s3!);
        const besideDump = async (dump: string, takenAt: string, signal: AbortSignal) => {
          if (!attachments) return;
          const manifests = await attachments.takeAttachmentManifests(opts.s3!, new Date(takenAt), { log, signal });
          const written = await attachments.writeAttachmentManifestsBeside(dump, manifests);
          for (const manifest of manifests)
            process.stdout.write(`${attachments.describeAttachmentManifest(manifest)}; written to ${written}\n`);
        };
        const log = (line: string) => process.stderr.write(`dump: ${line}\n`);
        const toS3 = opts.out.startsWith('s3://');
        // What to remove when interrupted: the partial output, unless something was there before (not ours).
        const localOut = toS3 ? null : opts.out.replace(/(.)\/+$/, '$1');
        const existed = localOut ? (await lstat(localOut).catch(() => null)) !== null : false;
        try {
          await withInterruptSignal(async (signal) => {
            if (!toS3) {
              const result = await dumpWithManifest(url, opts.out, {
                signal,
                log,
                format: opts.format,
                role: opts.role,
              });
              process.stdout.write(
                `dumped ${redactUrl(url)} to ${result.path} (${result.format}); manifest ${result.manifestPath}\n`,
              );
              await besideDump(result.path, result.manifest.takenAt, signal);
              return;
            }
            // To S3: dump locally into a private temp dir, upload dump and manifest, remove the local copy.
            const { checkUploadTarget, uploadDump } = await import('../sources/s3/upload-dump.ts'); // the AWS SDK loads only for s3://
            (await import('../aws/s3-client.ts')).s3Timeouts(); // a bad RESTORE_DRILL_S3_TIMEOUT fails before the dump
            await assertUsableTempDir();
            // A missing bucket or wrong credentials must not cost a whole dump of production first.
            await checkUploadTarget(opts.out, undefined, signal);
            const work = await mkdtemp(join(tmpdir(), 'restore-drill-dump-'));
            // The local copy is production data: labelled and watched, so a killed dump leaves none behind
            // (the watchdog removes it; `cleanup` and the next drill find it by its label otherwise).
            const label: ResourceLabel = {
              tool: 'restore-drill',
              kind: 'dump-work-dir',
              runId: newRunId(),
              drillName: 'dump',
              ownerPid: process.pid,
              createdAt: new Date().toISOString(),
            };
            await writeFile(join(work, 'restore-drill.json'), JSON.stringify(label), { mode: 0o644 });
            startReaper(process.pid, work);
            try {
              const format = opts.format ?? 'custom';
              // Into a prefix (s3://b/p/): a new timestamped dump, so older ones stay and the source picks the latest.
              const stamp = new Date()
                .toISOString()
                .replace(/[-:]/g, '')
                .replace(/\.\d+Z$/, 'Z');
              const name = opts.out.endsWith('/')
                ? `dump-${stamp}.${format === 'custom' ? 'dump' : 'dir'}`
                : basename(opts.out);
              const result = await dumpWithManifest(url, join(work, name), { signal, log, format, role: opts.role });
              const uploaded = await uploadDump(result.path, opts.out, undefined, { log, signal });
              process.stdout.write(
                `dumped ${redactUrl(url)} to ${uploaded.uri} (${result.format}, ${uploaded.objects} objects, ${uploaded.bytes} bytes) with its manifest\n`,
              );
              await besideDump(uploaded.uri, result.manifest.takenAt, signal);
            } finally {
              await rm(work, { recursive: true, force: true });
            }
          });
        } catch (error) {
          const by = interruptSignal();
          if (!by) throw error;
          // Interrupted: no partial dump (and no manifest vouching for one) stays where it would be taken for a backup.
          if (localOut && !existed) {
            await rm(localOut, { recursive: true, force: true });
            await rm(manifestPathFor(localOut), { force: true });
            await rm(`${localOut}.attachments.json`, { force: true }); // written by dump --s3
          }
          process.stderr.write(
            `restore-drill: dump interrupted by ${by}${localOut && !existed ? `; the partial ${localOut} was removed` : ''}\n`,
          );
          setExit(signalExitCode(by));
          return;
        }
        setExit(EXIT.ok);
      },
    );
}
