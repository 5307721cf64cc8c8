import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { ConfigError } from '../errors.ts';
import { startStalledServer, type StalledServer } from '../testing/stalled-server.ts';
import { generateKeyPair } from '../evidence/signing-key.ts';
import { hasStackTrace, runCli } from '../testing/run-cli.ts';
import { createS3Client, s3Timeouts } from './s3-client.ts';

/** A stalled S3 endpoint: it accepts connections and never answers a byte. */
let stalled: StalledServer;
let endpoint: string;
let dir: string;

beforeAll(async () => {
  stalled = await startStalledServer();
  endpoint = stalled.endpoint;
  dir = await mkdtemp(join(tmpdir(), 's3-client-test-'));
});
afterAll(async () => {
  await stalled.close();
  await rm(dir, { recursive: true, force: true });
});

describe('s3Timeouts', () => {
  test('one duration sets the silence limit; connecting gets at most 10 s', () => {
    expect(s3Timeouts({ RESTORE_DRILL_S3_TIMEOUT: '5s' })).toEqual({ connectionTimeout: 5000, socketTimeout: 5000 });
    expect(s3Timeouts({ RESTORE_DRILL_S3_TIMEOUT: '2m' })).toEqual({
      connectionTimeout: 10_000,
      socketTimeout: 120_000,
    });
    expect(s3Timeouts({})).toEqual({ connectionTimeout: 10_000, socketTimeout: 60_000 });
  });

  test('a value that is not a duration is a usage error naming the variable', () => {
    expect(() => s3Timeouts({ RESTORE_DRILL_S3_TIMEOUT: 'banana' })).toThrow(ConfigError);
    expect(() => s3Timeouts({ RESTORE_DRILL_S3_TIMEOUT: 'banana' })).toThrow(/bad RESTORE_DRILL_S3_TIMEOUT "banana"/);
  });
});

describe('a stalled S3 endpoint', () => {
  const awsEnv = () => ({
    AWS_ENDPOINT_URL: endpoint,
    AWS_ENDPOINT_URL_S3: '',
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
    AWS_REGION: 'us-east-1',
    AWS_CONFIG_FILE: join(dir, 'none'),
    AWS_SHARED_CREDENTIALS_FILE: join(dir, 'none'),
    RESTORE_DRILL_S3_TIMEOUT: '0.5s',
  });

  test("a call is ended by the drill's abort signal", async () => {
    for (const [name, value] of Object.entries(awsEnv())) vi.stubEnv(name, value);
    vi.stubEnv('RESTORE_DRILL_S3_TIMEOUT', '1h'); // only the signal can end it
    const s3 = await createS3Client({ endpoint, region: 'us-east-1' });
    try {
      const call = s3.send(new ListObjectsV2Command({ Bucket: 'backups' }), { abortSignal: AbortSignal.timeout(200) });
      await expect(call).rejects.toMatchObject({ name: 'AbortError' });
    } finally {
      s3.destroy();
      vi.unstubAllEnvs();
    }
  });

  test('check --dump s3://… fails with one line saying it timed out, and a signed report', async () => {
    const reports = join(dir, 'reports');
    const key = generateKeyPair(join(dir, 'keys')).privatePath;
    const out = await runCli(['check', '--dump', 's3://backups/shop/', '--report-dir', reports, '--signing-key', key], {
      env: awsEnv(),
    });
    expect(out.code, out.stdout + out.stderr).toBe(1);
    expect(out.stdout).toMatch(
      /error: locate: cannot reach S3 at http:\/\/127\.0\.0\.1:\d+ for s3:\/\/backups\/shop\/: timed out/,
    );
    expect(hasStackTrace(out.stdout + out.stderr)).toBe(false);
    expect((await readdir(reports)).filter((n) => n.endsWith('.report.json'))).toHaveLength(1);
  });
});

test('SIGTERM while S3 stalls ends the process with its signed report', async () => {
  const reports = join(dir, 'reports-sigterm');
  const key = generateKeyPair(join(dir, 'keys-sigterm')).privatePath;
  const env = {
    AWS_ENDPOINT_URL: endpoint,
    AWS_ENDPOINT_URL_S3: '',
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
    AWS_REGION: 'us-east-1',
    AWS_CONFIG_FILE: join(dir, 'none'),
    AWS_SHARED_CREDENTIALS_FILE: join(dir, 'none'),
    RESTORE_DRILL_S3_TIMEOUT: '1h', // only the signal can end the call
  };
  let sent = false;
  const connected = stalled.connections();
  const out = await runCli(['check', '--dump', 's3://backups/shop/', '--report-dir', reports, '--signing-key', key], {
    env,
    onStderr: (text, child) => {
      if (sent || !/locate: listing recovery points/.test(text)) return;
      sent = true;
      // Once the listing request is on the wire (the endpoint has its connection), not before.
      const poll = setInterval(() => {
        if (stalled.connections() > connected) {
          clearInterval(poll);
          child.kill('SIGTERM');
        }
      }, 20);
    },
  });
  expect(sent).toBe(true);
  expect(out.code, out.stdout + out.stderr).toBe(143);
  expect(out.stdout).toMatch(/error: locate: interrupted by SIGTERM/);
  expect((await readdir(reports)).filter((n) => n.endsWith('.report.json'))).toHaveLength(1);
});
