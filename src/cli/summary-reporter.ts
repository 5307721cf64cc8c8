import { stripVTControlCharacters } from 'node:util';
import { relative } from 'node:path';
import type { Reporter, TestCase, TestModule } from 'vitest/node';
import type { DrillMeta } from '../model/drill-meta.ts';
import type { NotRunDrill } from '../views/ci-summary.ts';
import { formatDrillSummary } from './drill-summary.ts';

/**
 * The one-screen summary of `restore-drill run`: a few lines per drill as it finishes (status, restore
 * time, RTO/RPO, report path, failed checks), then the totals. Also decides the exit code.
 */
export class DrillSummaryReporter implements Reporter {
  passed = 0;
  failed = 0;
  configErrors = 0;
  loadErrors = 0;
  /** Every drill that wrote a report, and every drill or file that could not run: for the CI outputs. */
  readonly drills: DrillMeta[] = [];
  readonly notRun: NotRunDrill[] = [];
  /** Drills skipped by their file (e.g. a tool they need is not installed): they proved nothing, and say so. */
  readonly skipped: NotRunDrill[] = [];

  constructor(
    private readonly out: (text: string) => void = (t) => process.stdout.write(t),
    /** Told as each drill finishes, e.g. to settle its progress bar. */
    private readonly onDrillDone: (name: string, outcome: string) => void = () => {},
  ) {}

  onTestCaseResult(testCase: TestCase): void {
    const meta = testCase.meta().restoreDrill;
    const result = testCase.result();
    if (meta) {
      this.drills.push(meta);
      this.onDrillDone(testCase.name, meta.status);
      if (meta.status === 'passed') this.passed++;
      else this.failed++;
      this.out(`${formatDrillSummary(testCase.name, meta)}\n`);
      return;
    }
    if (result.state === 'passed') {
      this.passed++;
      this.out(`✓ ${testCase.name}\n`);
      return;
    }
    if (result.state === 'skipped') {
      const reason = result.note ?? 'skipped by its drill file';
      this.skipped.push({ name: testCase.name, reason });
      this.onDrillDone(testCase.name, 'skipped');
      this.out(`- ${testCase.name} — SKIPPED${result.note ? `: ${firstLine(result.note)}` : ''}\n`);
      return;
    }
    if (result.state !== 'failed') return;
    const error = result.errors?.[0];
    this.notRun.push({ name: testCase.name, reason: firstLine(error?.message) });
    this.onDrillDone(testCase.name, 'not run');
    // No report was written: the drill never started, which means its options are wrong.
    if (error?.name === 'ConfigError') this.configErrors++;
    else this.failed++;
    this.out(
      `✗ ${testCase.name} — ${error?.name === 'ConfigError' ? 'CONFIG ERROR' : 'FAILED'}: ${firstLine(error?.message)}\n`,
    );
  }

  onTestRunEnd(testModules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<{ message?: string }>): void {
    for (const module of testModules) {
      for (const error of module.errors()) {
        this.loadErrors++;
        const where = relative(process.cwd(), module.moduleId);
        const why = stripVTControlCharacters(error.message ?? '')
          .split('\n')
          .map((l) => l.trim())
          .filter(Boolean)
          .slice(0, 2)
          .join(' ');
        this.notRun.push({ name: where, reason: `could not be loaded: ${why}` });
        this.out(`✗ ${where} could not be loaded: ${why}\n`);
      }
    }
    for (const error of unhandledErrors) {
      this.loadErrors++;
      this.out(`✗ unhandled error: ${firstLine(error.message)}\n`);
    }
    const total = this.passed + this.failed + this.configErrors;
    this.out(
      `\n${total} drill${total === 1 ? '' : 's'}: ${this.passed} passed, ${this.failed} failed` +
        `${this.configErrors ? `, ${this.configErrors} with configuration errors` : ''}` +
        `${this.loadErrors ? `, ${this.loadErrors} files that could not be loaded` : ''}` +
        `${this.skipped.length ? `; ${this.skipped.length} skipped (not verified)` : ''}\n`,
    );
  }

  /** 2 for configuration errors or unloadable drill files, 1 for a failed drill, else 0. */
  exitCode(): number {
    if (this.configErrors || this.loadErrors) return 2;
    if (this.failed) return 1;
    return 0;
  }
}

function firstLine(text: string | undefined): string {
  return stripVTControlCharacters(text ?? 'unknown error').split('\n')[0] ?? '';
}
