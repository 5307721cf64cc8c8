import { randomBytes } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError } from '../errors.ts';

/**
 * Makes sure the report directory exists and takes a file, before a drill starts: a drill that ran for
 * hours must not lose its signed report to a typo in `--report-dir`. (A disk that fills up meanwhile can
 * still fail the final write; that error names the directory too.)
 */
export async function assertWritableReportDir(dir: string): Promise<void> {
  const probe = join(dir, `.restore-drill-probe-${randomBytes(4).toString('hex')}`);
  try {
    await mkdir(dir, { recursive: true });
    // A few bytes, not an empty file: an empty file needs no block, so it would not notice a full disk.
    await writeFile(probe, 'restore-drill write probe\n');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new ConfigError(
      `report directory ${dir} is not writable (${code})`,
      'choose a writable folder with --report-dir or RESTORE_DRILL_REPORT_DIR',
    );
  } finally {
    await rm(probe, { force: true }).catch(() => {});
  }
}
