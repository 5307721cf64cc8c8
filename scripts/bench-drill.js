// The restore-drill process the benchmark measures: `restore-drill check` exactly as bin/restore-drill.js runs
// it (the bundled CLI when it is fresh, else the sources through tsx), plus its own peak memory (max RSS of
// this process alone, not of pg_restore or the server) and how long loading the CLI took, written at exit.
// Plain JavaScript, so that nothing but what bin/restore-drill.js loads is loaded.
//
//   node scripts/bench-drill.js RSS_FILE [--lean | --initdb | --tsx] check --dump PATH …
//
// --tsx     the same `check`, from the sources through tsx even when a fresh bundle exists.
// The two other options run the same drill through runDrill directly, from the sources (only `check --dump
// PATH --report-dir DIR --signing-key KEY` is understood then), loading only the modules a local check needs:
// --lean    as `check` does, to measure what the CLI's other modules cost at start-up;
// --initdb  and initdb for the cluster instead of a copy of the cached template.
import { writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { loadCli, registerTsx } from '../bin/cli-bundle.js';

const [rssFile, mode, ...rest] = process.argv.slice(2);
if (!rssFile || !mode)
  throw new Error('usage: bench-drill.js RSS_FILE [--lean | --initdb | --tsx] check --dump PATH …');
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
let startupSeconds = 0;
process.on('exit', () =>
  writeFileSync(rssFile, `${JSON.stringify({ maxRssKb: process.resourceUsage().maxRSS, startupSeconds })}\n`),
);

if (mode === '--lean' || mode === '--initdb') {
  await registerTsx();
  const [{ runDrill }, { localPostgres }, { fileSource }] = await Promise.all([
    import('../src/drill/run-drill.ts'),
    import('../src/environments/local/local-postgres.ts'),
    import('../src/sources/file/file-source.ts'),
  ]);
  startupSeconds = performance.now() / 1000; // since the process started: loading what the drill needs
  /** @param {string} name */
  const option = (name) => {
    const at = rest.indexOf(name);
    return at >= 0 ? rest[at + 1] : undefined;
  };
  const dump = /** @type {string} */ (option('--dump'));
  const result = await runDrill({
    name: `check ${basename(dump)}`,
    file: null,
    source: fileSource(dump),
    environment: localPostgres({ template: mode !== '--initdb' }),
    reportDir: option('--report-dir'),
    signingKey: option('--signing-key'),
  });
  process.stdout.write(`status: ${result.status}\n    signed: ${result.reportPath}\n`);
  process.exitCode = result.status === 'passed' ? 0 : 1;
} else {
  const tsx = mode === '--tsx';
  const main = await loadCli({ fromSources: tsx });
  startupSeconds = performance.now() / 1000; // since the process started: loading the CLI
  process.exitCode = await main(tsx ? rest : [mode, ...rest]);
}
