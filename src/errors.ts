/**
 * The few error classes restore-drill throws. Every message is one line that says what is wrong;
 * `hint` says what to do. The CLI prints both and never a stack trace for these.
 */
export class RestoreDrillError extends Error {
  /** Process exit code the CLI uses when this error ends a command. */
  readonly exitCode: number = 1;
  constructor(
    message: string,
    /** What the user can do about it, one line. */
    readonly hint?: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/**
 * Bad input or configuration: a flag, a duration, a missing file, a wrong key, missing binaries.
 * Exit code 2.
 *
 * @example
 * throw new ConfigError(`bad duration "8x"`, 'use a number followed by s, m, h or d, e.g. 8h');
 */
export class ConfigError extends RestoreDrillError {
  override readonly exitCode: number = 2;
}

/**
 * An external command (`pg_restore`, `pg_dump`, `initdb`, …) failed. Carries its evidence, like zx's
 * ProcessOutput: the command name, exit code and the tail of its stderr (secrets already redacted).
 */
export class CommandFailedError extends RestoreDrillError {
  constructor(
    readonly command: string,
    readonly code: number | null,
    readonly stderrTail: string,
    hint?: string,
  ) {
    // The last line that explains something: tools often end with "removing data directory" or similar.
    const lines = stderrTail.trim().split('\n').filter(Boolean);
    const telling = lines
      .filter((line) => /error|fatal|could not|no space|denied|invalid|unsupported/i.test(line))
      .slice(-1)[0];
    const line = telling ?? lines.slice(-1)[0] ?? '';
    super(`${command} exited with code ${code ?? 'signal'}${line ? `: ${line}` : ''}`, hint);
  }
}

/** The drill was interrupted (SIGINT/SIGTERM or an aborted signal) while in `phase`. */
export class InterruptedError extends RestoreDrillError {
  /** The signal that interrupted it (`SIGINT`, `SIGTERM`, …), as data; null for another abort (e.g. a test timeout). */
  readonly signal: NodeJS.Signals | null;
  constructor(readonly reason: unknown) {
    super(
      reason instanceof Error
        ? `interrupted: ${reason.message}`
        : `interrupted by ${typeof reason === 'string' && reason ? reason : 'an abort'}`,
    );
    this.signal = typeof reason === 'string' && /^SIG[A-Z0-9]+$/.test(reason) ? (reason as NodeJS.Signals) : null;
  }
}
