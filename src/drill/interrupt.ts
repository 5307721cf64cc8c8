/** The exit code a shell gives a process ended by this signal: 130 for SIGINT, 143 for SIGTERM. */
export function signalExitCode(signal: string): number {
  return signal === 'SIGINT' ? 130 : 143;
}

let received: NodeJS.Signals | null = null;

/** The first SIGINT/SIGTERM a {@link withInterruptSignal} caught in this process, or null. */
export function interruptSignal(): NodeJS.Signals | null {
  return received;
}

/**
 * Runs `work` with an AbortSignal that fires on SIGINT or SIGTERM, so a drill can stop its phase, write
 * its signed `error` report and tear down before the process exits. A second signal exits at once
 * (the environment's watchdog still removes what was created).
 */
export async function withInterruptSignal<T>(work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const handler = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) process.exit(signalExitCode(signal));
    received ??= signal;
    process.stderr.write(`restore-drill: ${signal} received, stopping the drill and writing its report…\n`);
    controller.abort(signal);
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  try {
    return await work(controller.signal);
  } finally {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  }
}
