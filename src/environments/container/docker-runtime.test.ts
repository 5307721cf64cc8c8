import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { generateKeyPair } from '../../evidence/signing-key.ts';
import { runCli } from '../../testing/run-cli.ts';
import { markedShopDump } from '../../testing/shop-database.ts';
import { containerPostgres } from './container-postgres.ts';
import { ContainerRuntimeUnavailableError } from './docker-runtime.ts';
import { newRunId } from '../labels.ts';

// No engine is needed: these tests point DOCKER_HOST at a socket nothing listens on.
let dir: string;
let dump: string;
let signingKey: string;
let deadSocket: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'docker-runtime-test-'));
  deadSocket = `unix://${join(dir, 'no-engine.sock')}`;
  signingKey = generateKeyPair(join(dir, 'keys')).privatePath;
  dump = await markedShopDump(join(dir, 'shop.dump'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('no container runtime reachable', () => {
  test('the container environment fails at once with one line saying so and what to do', async () => {
    const previous = process.env.DOCKER_HOST;
    process.env.DOCKER_HOST = deadSocket;
    try {
      const start = containerPostgres({ image: 'postgres:15' }).start({
        runId: newRunId(),
        drillName: 'no engine',
        log: () => {},
      });
      await expect(start).rejects.toBeInstanceOf(ContainerRuntimeUnavailableError);
      await expect(start).rejects.toMatchObject({
        message: `no container runtime reachable at DOCKER_HOST=${deadSocket}`,
        hint: expect.stringMatching(
          /^start Docker or set DOCKER_HOST to a running engine — or restore into the local environment instead: localPostgres\(\)/,
        ),
        exitCode: 2,
      });
    } finally {
      if (previous === undefined) delete process.env.DOCKER_HOST;
      else process.env.DOCKER_HOST = previous;
    }
  });

  const check = (extra: string[]) =>
    runCli(
      [
        'check',
        '--dump',
        dump,
        '--report-dir',
        join(dir, 'reports'),
        '--signing-key',
        signingKey,
        '--environment',
        'container',
        ...extra,
      ],
      {
        env: { DOCKER_HOST: deadSocket },
      },
    );

  test('check --environment container reports the missing runtime as the reason the drill could not run', async () => {
    const out = await check([]);
    expect(out.code).toBe(1);
    expect(out.stderr).toMatch(
      /provision: no container runtime reachable at DOCKER_HOST=unix:\/\/\S+ \(start Docker or set DOCKER_HOST/,
    );
    expect(out.stdout).toMatch(/no container runtime reachable/);
  });

  test('check --fallback-local restores into the local environment instead, says so, and passes', async () => {
    const out = await check(['--fallback-local']);
    expect(out.stderr).toMatch(
      /provision: no container runtime reachable at DOCKER_HOST=\S+; starting the local-postgres environment instead, as this drill allows/,
    );
    expect(out.stdout).toContain('PASSED');
    expect(out.code).toBe(0);
  });

  test('--image or --fallback-local without --environment container is a usage error', async () => {
    const out = await runCli(['check', '--dump', dump, '--image', 'postgres:16']);
    expect(out.code).toBe(2);
    expect(out.stderr).toBe(
      'restore-drill: --image and --fallback-local apply to --environment container only — add --environment container, or leave them out\n',
    );
  });
});
