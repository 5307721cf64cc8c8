// Every connection the harness opens to a disposable server over its Unix socket proves that it reached that
// server. The socket sits in a folder the server's own account can write to (the container's shared folder
// when not root, the local cluster's socket folder): code in the backup can swap the socket for a symlink to
// another server of this machine — production, another drill's cluster — at any moment after the server was
// first reached. So each connection (1) must authenticate with SCRAM, whose last message proves the server
// knows this run's password (pg checks that signature; a server that skips authentication or asks for the
// password in clear or as md5 is refused before the password is sent), and (2) must report the identity the
// first trusted connection recorded: system identifier, port and postmaster start time (what any role may read:
// a drill may connect as an application role), read
// on the connection itself before pg sees it ready.

import { Socket } from 'node:net';
import { RestoreDrillError } from '../errors.ts';
import type { SandboxViolation } from './environment.ts';

/**
 * What a server says about itself; a copy of a cluster shares its system identifier, not its start time. Every
 * name is schema-qualified and nothing is cast or concatenated on the server (the backup's code, as superuser,
 * could shadow a function, operator or cast), and the start time's text does not depend on a session setting
 * (a restored database may set its own TimeZone or DateStyle).
 */
const IDENTITY_QUERY =
  "select s.system_identifier, pg_catalog.current_setting('port'), " +
  "pg_catalog.to_char(pg_catalog.timezone('UTC', pg_catalog.pg_postmaster_start_time()), 'YYYY-MM-DD HH24:MI:SS.US') " +
  'from pg_catalog.pg_control_system() s';

/** A connection refused because it did not reach the environment's own server. */
export interface RefusedConnection {
  /** Where the harness connected, e.g. `/tmp/restore-drill-…/socket/.s.PGSQL.5433`. */
  readonly where: string;
  /** Why, in one line. */
  readonly reason: string;
}

/**
 * The identity of one disposable server, learnt at its first trusted connection and required of every
 * later one. `stream` goes into the `pg` client configuration, so every client made from it is checked.
 *
 * @example
 * const identity = new ServerIdentity();
 * const config = { host: socketDir, port: 5432, user, password, database, stream: identity.stream };
 * await new pg.Client(config).connect(); // the first: records the identity
 * await new pg.Client(config).connect(); // refused if it reached another server
 */
export class ServerIdentity {
  private expected: string | null = null;
  private readonly refusals: RefusedConnection[] = [];

  /** The identity recorded, e.g. `7312… / port 5433 / started 2026-…`; null before. */
  get recorded(): string | null {
    return this.expected;
  }

  /** Connections refused so far: each is the backup's code redirecting the harness (or a server gone astray). */
  get refused(): readonly RefusedConnection[] {
    return this.refusals;
  }

  /**
   * Forgets the identity: the next connection records it. Only for when the environment has just started its
   * server and none of the backup's code has run since (a restart after a physical restore, say).
   */
  trustNext(): void {
    this.expected = null;
  }

  /** The `pg` `stream` option: a socket that checks the server before `pg` sees it ready. */
  readonly stream = (): Socket => new IdentityCheckedSocket(this);

  /** @internal The checking socket's verdict on one connection's identity: null when it may go on. */
  judge(identity: string, where: string): string | null {
    if (this.expected === null) {
      this.expected = identity;
      return null;
    }
    if (identity === this.expected) return null;
    return this.refuse(where, `it reached another server (${identity}), not the environment's (${this.expected})`);
  }

  /** @internal */
  refuse(where: string, reason: string): string {
    this.refusals.push({ where, reason });
    return `the connection to ${where} was refused: ${reason}; the backup's code may have replaced the server's socket`;
  }
}

/**
 * A scan of the server's log with the connections `identity` refused added as violations: a socket swapped
 * for another server's is the backup's code trying to reach it through the harness.
 *
 * @example
 * const seen = withRefusedConnections(await scanServerLog(logPath, [dataDir]), identity);
 */
export function withRefusedConnections<T extends { readonly found: readonly SandboxViolation[] }>(
  scanned: T,
  identity: ServerIdentity,
): T {
  if (identity.refused.length === 0) return scanned;
  const refused = identity.refused.map((refusal) => ({
    attempt: "redirect the harness's connections to another server (the server's socket was replaced)",
    object: `the socket ${refusal.where} (the backup's code that did it is not named by the server)`,
    message: refusal.reason,
  }));
  return { ...scanned, found: [...scanned.found, ...refused] };
}

/** Authentication request codes of the protocol's `R` message. */
const AUTH_OK = 0;
const AUTH_SASL = 10;
const AUTH_SASL_CONTINUE = 11;
const AUTH_SASL_FINAL = 12;

/**
 * A client socket that reads the server's messages before `pg` does: it lets authentication through only as
 * SCRAM, then holds everything from AuthenticationOk on, sends its own identity query once the server is ready,
 * and hands the held messages to `pg` only when the answer matches.
 */
class IdentityCheckedSocket extends Socket {
  #phase: 'auth' | 'startup' | 'identity' | 'passed' = 'auth';
  #scramFinished = false;
  #pending = Buffer.alloc(0);
  #held: Buffer[] = [];
  #identity: string | null = null;
  #where = '(unknown)';

  readonly #guard: ServerIdentity;

  constructor(guard: ServerIdentity) {
    super();
    this.#guard = guard;
  }

  override connect(...args: unknown[]): this {
    this.#where = typeof args[0] === 'string' ? args[0] : String(args[1] ?? args[0]);
    return (super.connect as (...a: unknown[]) => this)(...args);
  }

  override push(chunk: unknown, encoding?: BufferEncoding): boolean {
    if (this.#phase === 'passed' || chunk === null || !Buffer.isBuffer(chunk)) return super.push(chunk, encoding);
    this.#pending = Buffer.concat([this.#pending, chunk]);
    while (!this.#passed() && this.#pending.length >= 5) {
      const length = this.#pending.readInt32BE(1);
      if (length < 4) return this.#fail('the server sent a malformed message');
      if (this.#pending.length < 1 + length) break;
      const message = this.#pending.subarray(0, 1 + length);
      this.#pending = this.#pending.subarray(1 + length);
      if (!this.#take(message)) return false;
    }
    if (this.#passed() && this.#pending.length > 0) {
      const rest = this.#pending;
      this.#pending = Buffer.alloc(0);
      return super.push(rest);
    }
    return true;
  }

  #passed(): boolean {
    return this.#phase === 'passed';
  }

  /** One whole server message; false when the connection was refused. */
  #take(message: Buffer): boolean {
    const type = String.fromCharCode(message[0]!);
    if (this.#phase === 'auth') {
      if (type === 'R') {
        const code = message.readInt32BE(5);
        if (code === AUTH_SASL || code === AUTH_SASL_CONTINUE) return super.push(message) || true;
        if (code === AUTH_SASL_FINAL) {
          this.#scramFinished = true;
          return super.push(message) || true;
        }
        if (code !== AUTH_OK)
          return this.#fail(
            `the server asked for the password other than by SCRAM (authentication request ${code}), which would show it to whoever answers`,
          );
        if (!this.#scramFinished)
          return this.#fail(
            'the server let the harness in without SCRAM authentication, so it did not prove it knows this run\u2019s password',
          );
        this.#phase = 'startup';
        this.#held.push(message);
        return true;
      }
      return super.push(message) || true; // an error, or a protocol version negotiation: pg handles them
    }
    if (this.#phase === 'startup') {
      if (type === 'E') return this.#release(message);
      this.#held.push(message);
      if (type === 'Z') {
        this.#phase = 'identity';
        const sql = Buffer.from(`${IDENTITY_QUERY}\0`);
        const query = Buffer.alloc(5);
        query.write('Q');
        query.writeInt32BE(4 + sql.length, 1);
        this.write(Buffer.concat([query, sql]));
      }
      return true;
    }
    // The identity query's answer: a row, its completion, then ReadyForQuery (notices and parameters aside).
    if (type === 'E') return this.#fail(`its identity could not be read (${serverErrorText(message)})`);
    if (type === 'D') this.#identity = identityText(dataRowTexts(message));
    if (type !== 'Z') return true;
    if (this.#identity === null) return this.#fail('its identity could not be read (no answer)');
    const verdict = this.#guard.judge(this.#identity, this.#where);
    if (verdict) return this.#refused(verdict);
    this.#phase = 'passed';
    for (const held of this.#held.splice(0)) super.push(held);
    return true;
  }

  /** Hands what was held, and this message, to pg and stops checking (the server refused the login). */
  #release(message: Buffer): boolean {
    this.#phase = 'passed';
    for (const held of this.#held.splice(0)) super.push(held);
    return super.push(message);
  }

  #fail(reason: string): false {
    return this.#refused(this.#guard.refuse(this.#where, reason));
  }

  #refused(message: string): false {
    this.#held = [];
    this.#pending = Buffer.alloc(0);
    this.destroy(new RestoreDrillError(message, 'do not trust this drill: its environment is not isolated'));
    return false;
  }
}

/** The columns of a DataRow message as text (null for SQL NULL). */
function dataRowTexts(message: Buffer): Array<string | null> {
  const columns: Array<string | null> = [];
  let at = 7;
  for (let n = message.readInt16BE(5); n > 0; n--) {
    const length = message.readInt32BE(at);
    at += 4;
    columns.push(length < 0 ? null : message.subarray(at, at + length).toString('utf8'));
    at += Math.max(0, length);
  }
  return columns;
}

/** `<system identifier> / port <port> / started <UTC time>`, or null when a column is missing. */
function identityText(columns: Array<string | null>): string | null {
  const [id, port, started] = columns;
  if (columns.length !== 3 || !id || !port || !started) return null;
  return `${id} / port ${port} / started ${started}`;
}

/** The `M` (message) field of an ErrorResponse. */
function serverErrorText(message: Buffer): string {
  for (const field of message.subarray(5).toString('utf8').split('\0'))
    if (field.startsWith('M')) return field.slice(1);
  return 'an error';
}
