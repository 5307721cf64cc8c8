import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { runDrill } from '../../drill/run-drill.ts';
import { ConfigError } from '../../errors.ts';
import { generateKeyPair } from '../../evidence/signing-key.ts';
import { fileSource } from '../../sources/file/file-source.ts';
import { pgDumpRestorable, type RecoveryPoint } from '../../model/recovery-point.ts';
import { newerDumpHeader } from '../../testing/newer-dump-header.ts';
import { probeContainerEngine } from './container-engine.testkit.ts';
import { chooseImage, majorOf } from './container-image.ts';
import { containerPostgres } from './container-postgres.ts';

let dir: string;
let newer: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'container-image-test-'));
  await mkdir(join(dir, 'pg17'));
  newer = join(dir, 'pg17', 'shop.dump');
  await writeFile(newer, newerDumpHeader('17.2'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const point = (facts: RecoveryPoint['facts']): RecoveryPoint => ({
  source: 'test',
  id: 'snap-1',
  createdAt: new Date(),
  createdAtBasis: 'test',
  facts,
});
const restorable = () => pgDumpRestorable({ path: newer, format: 'custom', digest: 'sha256:0' });

describe('chooseImage', () => {
  test("a dump from a newer major picks that major's official image, read from the dump header", async () => {
    expect(await chooseImage(undefined, { restorable: restorable() })).toEqual({
      image: 'postgres:17',
      major: '17',
      basis: 'dump header: server 17.2',
    });
  });

  test('the header wins over facts; without a dump, the serverVersion or an RDS engineVersion fact decides', async () => {
    expect(
      (await chooseImage(undefined, { restorable: restorable(), recoveryPoint: point({ serverVersion: '15.4' }) }))
        .image,
    ).toBe('postgres:17');
    expect((await chooseImage(undefined, { recoveryPoint: point({ serverVersion: '16.4' }) })).image).toBe(
      'postgres:16',
    );
    expect(await chooseImage(undefined, { recoveryPoint: point({ engineVersion: '14.12' }) })).toMatchObject({
      image: 'postgres:14',
      basis: 'recovery point engineVersion 14.12',
    });
  });

  test('a drill can name the image outright, or a template for a mirror', async () => {
    expect(await chooseImage('postgres:16.4-bookworm', { restorable: restorable() })).toEqual({
      image: 'postgres:16.4-bookworm',
      major: null,
      basis: 'named by the drill',
    });
    expect(
      (await chooseImage('registry.example.com/db/postgres:{major}-alpine', { restorable: restorable() })).image,
    ).toBe('registry.example.com/db/postgres:17-alpine');
  });

  test('no version anywhere is a configuration error that says how to name the image', async () => {
    const failure = chooseImage(undefined, { recoveryPoint: point({ serverVersion: null }) });
    await expect(failure).rejects.toBeInstanceOf(ConfigError);
    await expect(failure).rejects.toThrow(/cannot tell which PostgreSQL version the recovery point snap-1 comes from/);
    await expect(failure).rejects.toMatchObject({ hint: expect.stringContaining("image: 'postgres:16'") });
  });

  test('majors are named like the image tags: 9.6 before PostgreSQL 10, one number after', () => {
    expect([majorOf('17.2'), majorOf('15.18 (Debian 15.18-0+deb12u1)'), majorOf('9.6.24'), majorOf('10.23')]).toEqual([
      '17',
      '15',
      '9.6',
      '10',
    ]);
  });
});

const engine = await probeContainerEngine();

describe.skipIf(!engine.available)(`the image of a newer major on an engine without it${engine.reason}`, () => {
  // No registry is reachable here, so postgres:17 can neither be found nor pulled: the drill must say so.
  test('is chosen by name, and its absence fails provisioning with one clear line', async () => {
    const lines: string[] = [];
    const { status, report } = await runDrill({
      name: 'newer major in a container',
      source: fileSource(join(dir, 'pg17')),
      environment: containerPostgres(),
      reportDir: join(dir, 'reports'),
      signingKey: generateKeyPair(join(dir, 'keys')).privatePath,
      log: (line) => lines.push(line),
    });
    expect(lines).toContain('provision: image postgres:17 (dump header: server 17.2)');
    expect(status).toBe('error');
    expect(report.error?.phase).toBe('provision');
    expect(report.error?.message).toMatch(
      /^image postgres:17 is not on the container engine and could not be pulled: .+ \(pull or load it where a registry is reachable \(docker pull postgres:17\)/,
    );
    expect(report.error?.message).not.toContain('\n');
    expect(report.environment).toEqual({ kind: 'container', version: null });
  });
});
