import { execFile } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';

// The recipes for real engines, checked as far as this machine goes: files parsed, their fixed promises
// (matrix, limits, no retries, non-root) asserted, and their shell run locally. The GitHub workflow's
// shard and merge commands run end to end in fleet-simulation.test.ts.
const root = fileURLToPath(new URL('../../', import.meta.url));
const read = (path: string) => readFile(join(root, path), 'utf8');
const run = promisify(execFile);

let dir: string;
let fakeBin: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fleet-recipes-test-'));
  // Stands in for `npx restore-drill`: prints the fleet run id and the arguments it got.
  fakeBin = join(dir, 'restore-drill');
  await writeFile(fakeBin, '#!/bin/sh\necho "fleet-run=$RESTORE_DRILL_FLEET_RUN args=$*"\n');
  await chmod(fakeBin, 0o755);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

type Step = {
  name?: string;
  run?: string;
  uses?: string;
  if?: string;
  env?: Record<string, string>;
  with?: Record<string, unknown>;
};
type Job = {
  needs?: string;
  if?: string;
  'runs-on': unknown;
  'timeout-minutes'?: unknown;
  strategy?: Record<string, unknown>;
  steps: Step[];
  outputs?: Record<string, string>;
};

describe('GitHub Actions: recipes/github-actions/restore-drill-fleet.yml', () => {
  let workflow: { on: { workflow_call: { inputs: Record<string, { default: unknown }> } }; jobs: Record<string, Job> };
  beforeAll(async () => {
    workflow = parse(await read('recipes/github-actions/restore-drill-fleet.yml')) as typeof workflow;
  });

  test('a reusable workflow: a matrix over the shards with max-parallel, runner labels and a timeout within the hosted 6 hours, then merge', () => {
    const inputs = workflow.on.workflow_call.inputs;
    expect(Number(inputs['timeout-minutes']!.default)).toBeLessThanOrEqual(360);
    const shard = workflow.jobs.shard!;
    expect(shard.needs).toBe('plan');
    expect(shard.strategy).toEqual({
      'fail-fast': false,
      'max-parallel': '${{ inputs.max-parallel }}',
      matrix: { shard: '${{ fromJSON(needs.plan.outputs.shards) }}' },
    });
    expect(shard['runs-on']).toBe('${{ fromJSON(inputs.runs-on) }}');
    expect(shard['timeout-minutes']).toBe('${{ inputs.timeout-minutes }}');
    const merge = workflow.jobs.merge!;
    expect(merge.needs).toBe('shard');
    expect(merge.if).toBe('always()');
    const mergeRun = merge.steps.find((s) => s.name === 'Merge the shards')!.run!;
    expect(mergeRun).toContain('--expect-shards "$SHARDS"');
    // Scripts get values through the environment only, never `${{ }}` pasted into the shell.
    for (const job of Object.values(workflow.jobs))
      for (const step of job.steps) if (step.run) expect(step.run).not.toContain('${{');
  });

  test("the plan job's script lists the shard indexes for the matrix", async () => {
    const step = workflow.jobs.plan!.steps[0]!;
    const output = join(dir, 'github-output');
    await run('bash', ['-euo', 'pipefail', '-c', step.run!], {
      env: { ...process.env, SHARDS: '16', GITHUB_OUTPUT: output },
    });
    expect(await readFile(output, 'utf8')).toBe(`shards=[${Array.from({ length: 16 }, (_, i) => i + 1).join(',')}]\n`);
  });
});

describe('recipes/shard-entrypoint.sh', () => {
  const entry = (env: Record<string, string>, args: string[] = []) =>
    run(join(root, 'recipes/shard-entrypoint.sh'), args, {
      env: { PATH: process.env.PATH!, RESTORE_DRILL_BIN: fakeBin, ...env },
    }).then(
      (r) => ({ code: 0, out: r.stdout + r.stderr }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stdout + e.stderr }),
    );

  test('Kubernetes: JOB_COMPLETION_INDEX 0 is shard 1', async () => {
    expect(
      await entry({
        SHARD_COUNT: '16',
        JOB_COMPLETION_INDEX: '0',
        RESTORE_DRILL_FLEET_RUN: 'job-1',
        RESTORE_DRILL_EVIDENCE: 's3://e/p/',
      }),
    ).toEqual({
      code: 0,
      out: 'fleet-run=job-1 args=run --shard 1/16 --report-dir reports/shard-1\n',
    });
  });

  test("AWS Batch: the last array index is shard N, and the array job's id is the fleet run", async () => {
    expect(
      await entry({
        SHARD_COUNT: '16',
        AWS_BATCH_JOB_ARRAY_INDEX: '15',
        AWS_BATCH_JOB_ID: '7a1c-e9:15',
        RESTORE_DRILL_EVIDENCE: 's3://e/p/',
      }),
    ).toEqual({
      code: 0,
      out: 'fleet-run=7a1c-e9 args=run --shard 16/16 --report-dir reports/shard-16\n',
    });
  });

  test('merge runs from the same image; no index, or a store without a fleet run id, is refused', async () => {
    expect((await entry({}, ['merge', '--expect-shards', '16'])).out).toBe(
      'fleet-run= args=merge --expect-shards 16\n',
    );
    const noIndex = await entry({ SHARD_COUNT: '4' });
    expect(noIndex.code).toBe(2);
    expect(noIndex.out).toContain('no shard index');
    const noRun = await entry({ SHARD_COUNT: '4', JOB_COMPLETION_INDEX: '1', RESTORE_DRILL_EVIDENCE: 's3://e/p/' });
    expect(noRun.code).toBe(2);
    expect(noRun.out).toContain('set RESTORE_DRILL_FLEET_RUN');
  });
});

test('Kubernetes: an Indexed Job of non-root pods, one shard per index, no retry of an index, the Job name as fleet run', async () => {
  type Pod = {
    securityContext: { runAsNonRoot: boolean };
    containers: { args?: string[]; env: { name: string; value?: string; valueFrom?: unknown }[] }[];
  };
  type JobSpec = {
    completionMode: string;
    backoffLimitPerIndex: number;
    parallelism: number;
    completions: number;
    template: { spec: Pod };
  };
  const [cron, merge] = parseAllDocuments(await read('recipes/kubernetes/restore-drill-fleet.yaml')).map(
    (d) => d.toJS() as unknown,
  ) as [{ spec: { jobTemplate: { spec: JobSpec } } }, { spec: JobSpec }];
  const job = cron.spec.jobTemplate.spec;
  expect(job).toMatchObject({ completionMode: 'Indexed', backoffLimitPerIndex: 0 });
  expect(job.parallelism).toBeLessThan(job.completions);
  const container = job.template.spec.containers[0]!;
  const env = Object.fromEntries(container.env.map((e) => [e.name, e.value ?? e.valueFrom]));
  expect(Number(env.SHARD_COUNT)).toBe(job.completions);
  expect(env.RESTORE_DRILL_FLEET_RUN).toEqual({
    fieldRef: { fieldPath: "metadata.labels['batch.kubernetes.io/job-name']" },
  });
  expect(job.template.spec.securityContext.runAsNonRoot).toBe(true);
  expect(merge.spec.template.spec.containers[0]!.args).toEqual(
    expect.arrayContaining(['merge', '--expect-shards', String(job.completions)]),
  );
});

test('AWS Batch: one attempt per index, the shard count in the job definition', async () => {
  const definition = JSON.parse(await read('recipes/aws-batch/job-definition.json')) as {
    retryStrategy: unknown;
    containerProperties: { environment: unknown[] };
  };
  expect(definition.retryStrategy).toEqual({ attempts: 1 });
  expect(definition.containerProperties.environment).toContainEqual({ name: 'SHARD_COUNT', value: '16' });
  expect(await read('recipes/aws-batch/submit-fleet.sh')).toMatch(/--depends-on "jobId=\$array_id"/);
});

test('the Dockerfile: Node 20, PostgreSQL server and client of the chosen major, bubblewrap, non-root, the shard entry point', async () => {
  const text = await read('Dockerfile');
  expect(text).toMatch(/^ARG NODE_IMAGE=node:20-/m);
  expect(text).toMatch(/^ARG PG_MAJOR=\d+$/m);
  expect(text).toContain('"postgresql-${PG_MAJOR}" "postgresql-client-${PG_MAJOR}"');
  expect(text).toContain('bubblewrap');
  expect(text).toMatch(/^USER node$/m);
  expect(text).toMatch(/^ENTRYPOINT \["recipes\/shard-entrypoint\.sh"\]$/m);
});

// The image is built for real where the engine can build it: its base image must be on the machine (pulled by
// the CI job that builds it) and the build reaches apt and npm. Elsewhere the test says why it did not run.
test('the Dockerfile builds: node 20, PostgreSQL of PG_MAJOR, bubblewrap, the unprivileged user', async (ctx) => {
  const text = await read('Dockerfile');
  const base = /^ARG NODE_IMAGE=(\S+)$/m.exec(text)![1]!;
  const engine = await run('docker', ['version', '--format', '{{.Server.Version}}']).catch(() => null);
  const present =
    engine &&
    (await run('docker', ['image', 'inspect', base]).then(
      () => true,
      () => false,
    ));
  if (!present) {
    const reason = !engine
      ? 'no Docker engine answers here'
      : `its base image ${base} is not on this machine, and the build needs it plus apt (apt.postgresql.org) and the npm registry: build the image in CI (docs/fleet.md)`;
    process.stderr.write(`recipes.test.ts: the Dockerfile was not built: ${reason}\n`);
    ctx.skip(`not built: ${reason}`);
    return;
  }
  const tag = `restore-drill-dockerfile-test:${process.pid}`;
  await run('docker', ['build', '--build-arg', 'PG_MAJOR=16', '-t', tag, root], { timeout: 900_000 });
  try {
    const { stdout } = await run('docker', [
      'run',
      '--rm',
      '--entrypoint',
      'sh',
      tag,
      '-c',
      'node --version && "$RESTORE_DRILL_PG_BIN/postgres" --version && pg_restore --version && command -v bwrap && id -un',
    ]);
    expect(stdout).toMatch(
      /^v20\.[\s\S]*\(PostgreSQL\) 16\.[\s\S]*pg_restore \(PostgreSQL\) 16\.[\s\S]*\/bwrap\nnode\n$/,
    );
  } finally {
    await run('docker', ['rmi', '-f', tag]).catch(() => {});
  }
}, 960_000);
