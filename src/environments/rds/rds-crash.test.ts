// A drill process SIGKILLed while its temporary RDS instance exists cannot delete it: `restore-drill cleanup
// --rds` must, by its tags, and leave an untagged instance of the same shape alone.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeDBInstancesCommand, type RDSClient } from '@aws-sdk/client-rds';
import { afterAll, beforeAll, expect, onTestFinished, test } from 'vitest';
import { startMotoServer, type MotoServer } from '../../testing/moto-server.ts';
import { createProductionInstance, motoRdsClient } from '../../testing/rds-moto.ts';
import { NO_ENGINE, runCli } from '../../testing/run-cli.ts';
import { newRunId } from '../labels.ts';
import { rdsIdentifier } from './rds-tags.ts';

let moto: MotoServer;
let rds: RDSClient;
/** cleanup also removes local leftovers (with --older-than, live runs' too): keep it off other test files' clusters. */
let emptyTmp: string;

beforeAll(async () => {
  emptyTmp = await mkdtemp(join(tmpdir(), 'rds-crash-test-'));
  moto = await startMotoServer();
  rds = motoRdsClient(moto);
  await createProductionInstance(rds, 'shop-prod', { snapshots: ['shop-nightly'] });
});
afterAll(async () => {
  rds?.destroy();
  await moto?.stop();
  if (emptyTmp) await rm(emptyTmp, { recursive: true, force: true });
});

const awsEnv = () => ({ ...moto.env, AWS_CONFIG_FILE: '/nonexistent', AWS_SHARED_CREDENTIALS_FILE: '/nonexistent' });

async function instances(): Promise<string[]> {
  return ((await rds.send(new DescribeDBInstancesCommand({}))).DBInstances ?? [])
    .map((i) => i.DBInstanceIdentifier!)
    .sort();
}

/**
 * A drill's environment in a child process: it restores the snapshot into a temporary instance and then
 * hangs connecting to it (its stand-in endpoint accepts and never answers), as a real drill waits on a
 * slow instance. Resolves once the instance exists, with the child.
 */
async function runUntilInstanceExists(runId: string) {
  const script = `
    import { createServer } from 'node:net';
    import { rdsSnapshotSource } from ${JSON.stringify(new URL('../../sources/rds/rds-snapshot-source.ts', import.meta.url).pathname)};
    import { rdsInstance } from ${JSON.stringify(new URL('./rds-instance.ts', import.meta.url).pathname)};
    const silent = createServer(() => {});
    await new Promise((r) => silent.listen(0, '127.0.0.1', r));
    const ctx = { workDir: '/tmp', log: () => {} };
    const source = rdsSnapshotSource({ dbInstanceIdentifier: 'shop-prod', snapshotType: 'manual' });
    const [point] = await source.list(ctx);
    const env = await rdsInstance({ endpointOverride: { host: '127.0.0.1', port: silent.address().port }, credentials: { username: 'x', password: 'y' } })
      .start({ runId: ${JSON.stringify(runId)}, drillName: 'killed rds drill', log: () => {} });
    await env.restore(await source.fetch(point, ctx), { log: () => {} });
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, ...awsEnv() },
  });
  const identifier = rdsIdentifier(runId);
  onTestFinished(() => void child.kill('SIGKILL'));
  for (let i = 0; i < 300 && !(await instances()).includes(identifier); i++) {
    if (child.exitCode !== null)
      throw new Error(`the drill process exited with ${child.exitCode} before making its instance`);
    await new Promise((r) => setTimeout(r, 100));
  }
  expect(await instances()).toContain(identifier);
  return { child, identifier };
}

test("after a SIGKILL during the restore, cleanup --rds deletes the run's tagged instance, and only it", async () => {
  await createProductionInstance(rds, `restore-drill-${newRunId()}`); // our naming, no tags: not ours
  const lookalikes = (await instances()).filter((name) => name.startsWith('restore-drill-'));
  const { child, identifier } = await runUntilInstanceExists(newRunId());
  const exited = new Promise((resolve) => child.on('exit', resolve));
  child.kill('SIGKILL');
  await exited;
  expect(await instances()).toContain(identifier); // nobody tore it down

  // Not expired yet (its expiry is hours away): cleanup leaves it unless asked for younger ones too.
  const early = await runCli(['cleanup', '--rds', '--region', 'us-east-1'], {
    env: { ...awsEnv(), TMPDIR: emptyTmp, DOCKER_HOST: NO_ENGINE },
  });
  expect(early.code, early.stderr).toBe(0);
  expect(await instances()).toContain(identifier);

  await new Promise((r) => setTimeout(r, 1100));
  const out = await runCli(['cleanup', '--rds', '--region', 'us-east-1', '--older-than', '1s'], {
    env: { ...awsEnv(), TMPDIR: emptyTmp, DOCKER_HOST: NO_ENGINE },
  });
  expect(out.code, out.stderr).toBe(0);
  expect(out.stdout).toMatch(
    new RegExp(`removed RDS db-instance ${identifier} in us-east-1 \\(run .*, drill "killed rds drill"`),
  );
  expect(await instances()).not.toContain(identifier);
  for (const name of lookalikes) expect(await instances()).toContain(name);
});
