import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request as the receiving side saw it. */
export interface ReceivedRequest {
  readonly method: string;
  /** Path and query, as sent (still percent-encoded). */
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** A real HTTP server on 127.0.0.1 that records what it is sent: a webhook or a Pushgateway stand-in for tests. */
export interface HttpReceiver extends AsyncDisposable {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly requests: ReceivedRequest[];
  /** The status code every request is answered with; change it between requests. */
  status: number;
  stop(): Promise<void>;
}

/**
 * Starts a receiver on a free loopback port.
 *
 * @example
 * await using hook = await startHttpReceiver();
 * await runCli(['check', …, '--notify', `${hook.url}/hooks/T0/B0/secret`]);
 * JSON.parse(hook.requests[0].body).text;
 */
export async function startHttpReceiver(status = 200): Promise<HttpReceiver> {
  const requests: ReceivedRequest[] = [];
  const receiver = {
    url: '',
    requests,
    status,
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
    [Symbol.asyncDispose]: () => receiver.stop(),
  };
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      requests.push({
        method: request.method ?? '',
        url: request.url ?? '',
        headers: request.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      });
      response.writeHead(receiver.status, { 'content-type': 'text/plain' }).end(receiver.status < 300 ? 'ok' : 'no');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return receiver;
}
