import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import type { BoundPorts, WaitStrategy } from 'testcontainers';
import { InterruptedError, RestoreDrillError } from '../../errors.ts';
import type { DockerContainer } from './docker-exec.ts';
import { containerLogTail } from './docker-logs.ts';

/** The PostgreSQL server in a container did not come up; `portTaken` says a retry on another port may work. */
export class ServerDidNotStartError extends RestoreDrillError {
  constructor(
    message: string,
    hint: string,
    /** Another process holds the port (host networking): start again on a different port. */
    readonly portTaken: boolean,
  ) {
    super(message, hint);
  }
}

// Another server answered on our port: it rejected our user, password or database.
const FOREIGN_SERVER_CODES = new Set(['28P01', '28000', '3D000']);
const BIND_FAILURE = /could not bind|Address already in use|could not create any TCP\/IP sockets/i;

/**
 * A testcontainers wait strategy: ready when the server accepts our user and password on the address the
 * environment will use (from the host, through the same port). The official image's init runs a
 * temporary server that listens on no TCP address, so this is only true of the final server. When the
 * container exits first, the error carries its log tail; a port taken by another process (possible with
 * host networking) is reported as such, so the environment can retry on a new port.
 *
 * @example
 * new GenericContainer('postgres:16').withWaitStrategy(new PostgresReady(() => ({ host: '127.0.0.1', port, user, password, database })));
 */
export class PostgresReady implements WaitStrategy {
  private timeoutMs = 120_000;
  private timeoutSet = false;

  constructor(
    /** Where to connect, once the ports are bound. */
    private readonly target: (boundPorts: BoundPorts) => pg.ClientConfig,
    private readonly signal?: AbortSignal,
  ) {}

  withStartupTimeout(startupTimeoutMs: number): this {
    this.timeoutMs = startupTimeoutMs;
    this.timeoutSet = true;
    return this;
  }

  isStartupTimeoutSet(): boolean {
    return this.timeoutSet;
  }

  getStartupTimeout(): number {
    return this.timeoutMs;
  }

  async waitUntilReady(container: DockerContainer, boundPorts: BoundPorts): Promise<void> {
    const deadline = Date.now() + this.timeoutMs;
    let lastProblem = 'no answer yet';
    for (;;) {
      if (this.signal?.aborted) throw new InterruptedError(this.signal.reason);
      const { State } = await container.inspect();
      if (!State.Running) {
        const tail = await containerLogTail(container, 15);
        const portTaken = BIND_FAILURE.test(tail);
        throw new ServerDidNotStartError(
          `the PostgreSQL container exited with code ${State.ExitCode} before accepting connections: ${lastLines(tail)}`,
          portTaken ? 'another process took the port; start again' : 'check the image (it must behave like the official postgres image) and the settings',
          portTaken,
        );
      }
      const target = this.target(boundPorts);
      const client = new pg.Client({ ...target, connectionTimeoutMillis: 3_000 });
      client.on('error', () => {});
      try {
        await client.connect();
        await client.query('select 1');
        return;
      } catch (error) {
        const code = (error as { code?: unknown }).code;
        if (typeof code === 'string' && FOREIGN_SERVER_CODES.has(code)) {
          throw new ServerDidNotStartError(`another server answers on ${target.host}:${target.port}`, 'start again on another port', true);
        }
        lastProblem = (error as Error).message;
      } finally {
        await client.end().catch(() => {});
      }
      if (Date.now() > deadline) {
        throw new ServerDidNotStartError(
          `the PostgreSQL container did not accept connections within ${Math.round(this.timeoutMs / 1000)}s (${lastProblem}): ${lastLines(await containerLogTail(container, 15))}`,
          'a slow engine or a large image may need a longer startupTimeoutSeconds; check the container engine',
          false,
        );
      }
      await sleep(200);
    }
  }
}

/** The lines of a log tail that explain a failure (FATAL, ERROR, …), else its last three. */
function lastLines(tail: string): string {
  const lines = tail.split('\n').filter((l) => l.trim());
  const telling = lines.filter((l) => /\b(FATAL|PANIC|ERROR)\b|error:/.test(l));
  return (telling.length ? telling.slice(-2) : lines.slice(-3)).join(' / ') || 'no log output';
}
