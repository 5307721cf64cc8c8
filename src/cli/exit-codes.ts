/** Exit codes: 0 success, 1 a drill failed / a report is invalid, 2 usage or configuration error. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/** A command's action returns its exit code. */
export type CommandResult = Promise<number>;
