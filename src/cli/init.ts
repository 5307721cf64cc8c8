import { existsSync } from 'node:fs';
import { appendFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { ConfigError } from '../errors.ts';
import { EXIT } from './exit-codes.ts';

/** What `init` did with one file of the scaffold. */
export interface ScaffoldedFile {
  readonly path: string;
  readonly action: 'created' | 'kept' | 'appended';
}

const EXAMPLE_DRILL = `// Your first drill: restore the newest dump of your database into a disposable PostgreSQL, compare every
// table with the markers taken in production, run the checks below, time it against the objectives and
// write a signed report to reports/. Run it with: npx restore-drill run
import { expect } from 'vitest';
import { drill, fileSource, freshnessPolicy } from 'restore-drill';

drill(
  'app database restores from the latest dump',
  {
    // Where the backups are: a folder of \`restore-drill dump\` / \`pg_dump -Fc\` archives, or
    // s3DumpSource('s3://bucket/prefix/'), or rdsSnapshotSource({ dbInstanceIdentifier: 'app' }).
    source: fileSource(process.env.RESTORE_DRILL_BACKUPS ?? 'backups/'),
    // What you promise: restored within 8 hours, losing at most 3 hours of data.
    objectives: { rto: '8h', rpo: '3h' },
    // Fails the drill when the newest backup is older than this, before anything is restored.
    policies: [freshnessPolicy({ maxAge: '1d' })],
  },
  async ({ db, check }) => {
    // Checks only someone who knows the data can write. Replace this one with yours.
    await check('the restored database has tables', async () => {
      const { rows } = await db.query(
        "select count(*)::int as n from information_schema.tables where table_schema not in ('pg_catalog', 'information_schema', 'restore_drill')",
      );
      expect(rows[0].n).toBeGreaterThan(0);
    });
  },
);
`;

const VITEST_CONFIG = `import { defineConfig } from 'vitest/config';

// restore-drill runs the "drills" project: one drills/*.drill.ts file per scenario. A drill restores a whole
// database, so there is no time limit per test; hooks get ten minutes. A worker runs several drill files in
// turn (isolate: false), importing restore-drill once; \`restore-drill run --isolate\` gives each file its own.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'drills',
          include: ['drills/**/*.drill.ts'],
          testTimeout: 0,
          hookTimeout: 600_000,
          pool: 'forks',
          isolate: false,
        },
      },
    ],
  },
});
`;

const VITEST_PROJECT_HINT = `your vitest.config.ts was kept; add this project to its test.projects so \`restore-drill run\` finds the drills:
  { test: { name: 'drills', include: ['drills/**/*.drill.ts'], testTimeout: 0, hookTimeout: 600_000, pool: 'forks', isolate: false } }`;

const GITIGNORE_ENTRIES = ['/reports/*', '!/reports/README.md', '/.restore-drill/', '/backups/'];

/**
 * Scaffolds a repository for restore-drill: an example drill, a Vitest config with the `drills` project,
 * the scheduled GitHub workflow and `.gitignore` entries. Existing files are never overwritten (a
 * `vitest.config.*` of the user's is kept and the project to add is printed).
 *
 * @example
 * const files = await scaffold('/path/to/repo');   // what `npx restore-drill init` does in the current folder
 */
export async function scaffold(dir: string, log: (line: string) => void = () => {}): Promise<ScaffoldedFile[]> {
  if (!existsSync(dir))
    throw new ConfigError(`folder not found: ${dir}`, 'create it first, or run init inside your repository');
  const done: ScaffoldedFile[] = [];
  const put = async (path: string, content: string) => {
    const full = join(dir, path);
    if (existsSync(full)) {
      done.push({ path, action: 'kept' });
      return;
    }
    await mkdir(dirname(full), { recursive: true });
    await writeFile(full, content);
    done.push({ path, action: 'created' });
  };
  await put('drills/example.drill.ts', EXAMPLE_DRILL);
  const ownConfig = ['vitest.config.ts', 'vitest.config.mts', 'vitest.config.js', 'vitest.config.mjs'].find((f) =>
    existsSync(join(dir, f)),
  );
  if (ownConfig) {
    const text = await readFile(join(dir, ownConfig), 'utf8');
    done.push({ path: ownConfig, action: 'kept' });
    if (!/name:\s*['"]drills['"]/.test(text)) log(VITEST_PROJECT_HINT);
  } else {
    await put('vitest.config.ts', VITEST_CONFIG);
  }
  await put('.github/workflows/restore-drill.yml', await readFile(workflowTemplate(), 'utf8'));
  await put(
    'reports/README.md',
    'Signed restore-drill reports land here (git-ignored; keep them in the evidence store or as CI artifacts).\n',
  );
  const gitignore = join(dir, '.gitignore');
  const present = existsSync(gitignore) ? (await readFile(gitignore, 'utf8')).split('\n').map((l) => l.trim()) : [];
  const missing = GITIGNORE_ENTRIES.filter((entry) => !present.includes(entry));
  if (missing.length > 0) {
    const lead = present.length > 0 && present[present.length - 1] !== '' ? '\n' : '';
    await appendFile(
      gitignore,
      `${lead}# restore-drill: reports, local demo keys and fetched dumps stay out of git\n${missing.join('\n')}\n`,
    );
    done.push({ path: '.gitignore', action: present.length > 0 ? 'appended' : 'created' });
  } else {
    done.push({ path: '.gitignore', action: 'kept' });
  }
  return done;
}

/** The scheduled workflow this package ships (the same file its own repository runs). */
function workflowTemplate(): string {
  // src/cli/init.ts in the repository, dist/lib/cli/init.js in the package: walk up to the package root.
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const candidate = join(dir, '.github', 'workflows', 'restore-drill.yml');
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  throw new ConfigError(
    'the workflow template is missing from this restore-drill installation',
    'reinstall restore-drill',
  );
}

/** `restore-drill init [--dir DIR]`: scaffolds a user's repository (see {@link scaffold}). */
export function registerInitCommand(program: Command, setExit: (code: number) => void): Command {
  return program
    .command('init')
    .description(
      'scaffold this repository: an example drill, the Vitest drills project, the scheduled workflow, .gitignore entries',
    )
    .option('--dir <dir>', 'the repository to scaffold', '.')
    .action(async (opts: { dir: string }) => {
      const dir = resolve(opts.dir);
      const files = await scaffold(dir, (line) => process.stdout.write(`${line}\n`));
      for (const file of files) process.stdout.write(`${file.action.padEnd(9)} ${file.path}\n`);
      const keyDir = relative(process.cwd(), join(dir, '.restore-drill', 'keys')) || '.restore-drill/keys';
      process.stdout.write(
        [
          '',
          'next:',
          '  1. point drills/example.drill.ts at your backups (or set RESTORE_DRILL_BACKUPS) and write your checks',
          '  2. take markers in production: restore-drill mark --url-env DATABASE_URL (hourly), or dump with restore-drill dump',
          `  3. make the signing key: npx restore-drill keygen --out ${keyDir}`,
          '     store signing-key.pem as the CI secret RESTORE_DRILL_SIGNING_KEY; give signing-key.pub.pem to your auditors',
          '  4. run it: npx restore-drill run   (CI runs it monthly: .github/workflows/restore-drill.yml)',
          '',
        ].join('\n'),
      );
      setExit(EXIT.ok);
    });
}
