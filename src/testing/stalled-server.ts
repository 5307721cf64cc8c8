import { createServer, type Socket } from 'node:net';

/** An endpoint on 127.0.0.1 that accepts connections and never answers a byte: what a hung service looks like. */
export interface StalledServer {
  /** `http://127.0.0.1:PORT`, for an SDK's `endpoint`. */
  readonly endpoint: string;
  /** How many connections it has accepted so far (a request is on the wire once this grows). */
  connections(): number;
  /** Drops every held connection and stops listening. */
  close(): Promise<void>;
}

/**
 * Starts a {@link StalledServer}.
 *
 * @example
 * const stalled = await startStalledServer();
 * // … point a client at stalled.endpoint and expect its timeout …
 * await stalled.close();
 */
export async function startStalledServer(): Promise<StalledServer> {
  const sockets: Socket[] = [];
  const server = createServer((socket) => {
    sockets.push(socket);
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    connections: () => sockets.length,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
