import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import type { WaitStrategy } from 'testcontainers';
import { InterruptedError, RestoreDrillError } from '../../errors.ts';
import type { DockerContainer } from './docker-exec.ts';
import { containerLogTail } from './docker-logs.ts';

/** The PostgreSQL server in a container did not come up: it exited first, or did not answer in time. */
export class ServerDidNotStartError extends RestoreDrillError {}

/**
 * A testcontainers wait strategy: ready when the server accepts our user and password where the environment
 * will connect — a Unix socket in a folder shared with the container, so no port is needed. The official
 * image's init runs a temporary server first; it gets the same settings but the port of `PGPORT`, so its
 * socket has another name (`.s.PGSQL.<port>`) and only the final server answers here. When the container
 * exits first, the error carries its log tail.
 *
 * @example
 * new GenericContainer('postgres:16').withWaitStrategy(new PostgresReady({ host: socketDir, port: 5433, user, password, database }));
 */
export class PostgresReady implements WaitStrategy {
  private timeoutMs = 120_000;
  private timeoutSet = false;

  constructor(
    /** Where to connect: `host` is the socket folder on this machine. */
    private readonly target: pg.ClientConfig,
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

  async waitUntilReady(container: DockerContainer): Promise<void> {
    const deadline = Date.now() + this.timeoutMs;
    let lastProblem = 'no answer yet';
    for (;;) {
      if (this.signal?.aborted) throw new InterruptedError(this.signal.reason);
      const { State } = await container.inspect();
      if (!State.Running) {
        throw new ServerDidNotStartError(
          `the PostgreSQL container exited with code ${State.ExitCode} before accepting connections: ${lastLines(await containerLogTail(container, 15))}`,
          'check the image (it must behave like the official postgres image) and the settings',
        );
      }
      const client = new pg.Client({ ...this.target, connectionTimeoutMillis: 3_000 });
      client.on('error', () => {});
      try {
        await client.connect();
        await client.query('select 1');
        return;
      } catch (error) {
        lastProblem = (error as Error).message;
      } finally {
        await client.end().catch(() => {});
      }
      if (Date.now() > deadline) {
        throw new ServerDidNotStartError(
          `the PostgreSQL container did not accept connections within ${Math.round(this.timeoutMs / 1000)}s (${lastProblem}): ${lastLines(await containerLogTail(container, 15))}`,
          'a slow engine or a large image may need a longer startupTimeoutSeconds; check the container engine',
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
