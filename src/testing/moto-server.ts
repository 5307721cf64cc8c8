import { S3Client } from '@aws-sdk/client-s3';
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { freePort } from '../util/free-port.ts';

/** A running moto_server (a local fake of AWS) for tests against the real AWS SDK. */
export interface MotoServer extends AsyncDisposable {
  /** `http://127.0.0.1:<port>` */
  readonly endpoint: string;
  /** Environment that points the AWS SDK at this server with moto's test credentials. */
  readonly env: Record<string, string>;
  /** Kills the server. Safe to call twice. */
  stop(): Promise<void>;
}

/**
 * An S3 client of the given moto server, with its test credentials and path-style addressing.
 *
 * @example
 * const s3 = motoS3Client(moto);
 * await s3.send(new CreateBucketCommand({ Bucket: 'evidence' }));
 */
export function motoS3Client(moto: Pick<MotoServer, 'endpoint'>): S3Client {
  return new S3Client({
    endpoint: moto.endpoint,
    forcePathStyle: true,
    region: 'us-east-1',
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  });
}

/** Options of {@link startMotoServer}. */
export interface MotoServerOptions {
  /**
   * Extra environment of the server process, e.g. `{ INITIAL_NO_AUTH_ACTION_COUNT: '0' }` makes moto
   * check credentials against its IAM (by default it accepts any).
   */
  readonly env?: Record<string, string>;
}

const READY_TIMEOUT_MS = 20_000;

/**
 * Starts `moto_server` on a free 127.0.0.1 port and waits until it answers HTTP. Throws when
 * `moto_server` is not on PATH: tests that need it must fail loudly, not skip.
 *
 * @example
 * const moto = await startMotoServer();
 * afterAll(() => moto.stop());
 * const s3 = new S3Client({ endpoint: moto.endpoint, forcePathStyle: true, region: 'us-east-1' });
 */
export async function startMotoServer(options: MotoServerOptions = {}): Promise<MotoServer> {
  const binary = findOnPath('moto_server');
  if (!binary) throw new Error('moto_server is not on PATH; install it with `pip install "moto[server]"`');
  // The free port can be taken between asking and binding; a few tries make that race harmless.
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startOnce(binary, await freePort(), options);
    } catch (error) {
      lastError = error;
    }
  }
  throw lastError;
}

async function startOnce(binary: string, port: number, options: MotoServerOptions): Promise<MotoServer> {
  const endpoint = `http://127.0.0.1:${port}`;
  // A plain spawn, not zx: this is a server we keep running and must kill, not a command we await.
  // Its own process group, so stop() also ends whatever the moto_server launcher (e.g. a pyenv shim) starts.
  const child = spawn(binary, ['-H', '127.0.0.1', '-p', String(port)], {
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, ...options.env },
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const killOnExit = () => killGroup(child, 'SIGKILL');
  // Vitest's afterAll covers failing tests; this covers a test process that ends without running it.
  process.once('exit', killOnExit);

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    process.off('exit', killOnExit);
    if (child.exitCode === null && child.signalCode === null) {
      killGroup(child, 'SIGTERM');
      const timer = setTimeout(() => killGroup(child, 'SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
  };

  try {
    await waitUntilAnswering(endpoint, child, () => stderr);
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    endpoint,
    env: {
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
      AWS_REGION: 'us-east-1',
      AWS_ENDPOINT_URL: endpoint,
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

async function waitUntilAnswering(endpoint: string, child: ChildProcess, stderr: () => string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(
        `moto_server exited (${child.exitCode ?? child.signalCode}) before answering: ${stderr().trim().split('\n').slice(-3).join(' | ')}`,
      );
    }
    try {
      const response = await fetch(`${endpoint}/moto-api/`, { signal: AbortSignal.timeout(1000) });
      await response.arrayBuffer();
      if (response.status < 500) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`moto_server did not answer on ${endpoint} within ${READY_TIMEOUT_MS / 1000} s`);
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

function findOnPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    try {
      accessSync(join(dir, name), constants.X_OK);
      return join(dir, name);
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * Creates an IAM user with an access key in moto and returns the key. Only useful on a server started
 * with `INITIAL_NO_AUTH_ACTION_COUNT` ≥ 2 (these two calls are then let through unsigned); after that,
 * moto checks every request's credentials, so tests can see real InvalidAccessKeyId,
 * SignatureDoesNotMatch and AccessDenied answers.
 *
 * @example
 * const moto = await startMotoServer({ env: { INITIAL_NO_AUTH_ACTION_COUNT: '3' } });
 * const { accessKeyId, secretAccessKey } = await createMotoAccessKey(moto, 'drill');
 */
export async function createMotoAccessKey(
  moto: Pick<MotoServer, 'endpoint'>,
  userName: string,
): Promise<{ accessKeyId: string; secretAccessKey: string }> {
  const iam = async (action: string) => {
    const response = await fetch(`${moto.endpoint}/`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        // moto routes by the service named in the credential scope; the signature is not checked yet.
        authorization:
          'AWS4-HMAC-SHA256 Credential=AKIAUNSIGNED/20250101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0',
      },
      body: new URLSearchParams({ Action: action, UserName: userName, Version: '2010-05-08' }),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`moto IAM ${action} failed: ${response.status} ${text.slice(0, 200)}`);
    return text;
  };
  await iam('CreateUser');
  const text = await iam('CreateAccessKey');
  const accessKeyId = /<AccessKeyId>([^<]+)</.exec(text)?.[1];
  const secretAccessKey = /<SecretAccessKey>([^<]+)</.exec(text)?.[1];
  if (!accessKeyId || !secretAccessKey) throw new Error('moto IAM CreateAccessKey returned no key');
  return { accessKeyId, secretAccessKey };
}
