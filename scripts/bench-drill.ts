// The restore-drill process the benchmark measures: `restore-drill check` exactly as bin/restore-drill.js runs it,
// plus its own peak memory (max RSS of this process alone, not of pg_restore or the server) and how long
// loading the CLI's modules took, written at exit.
//
//   node --import tsx scripts/bench-drill.ts RSS_FILE [--lean | --initdb] check --dump PATH …
//
// The two options run the same drill through runDrill directly (only `check --dump PATH --report-dir DIR
// --signing-key KEY` is understood then), loading only the modules a local check needs:
// --lean    as `check` does, to measure what the CLI's other modules cost at start-up;
// --initdb  and initdb for the cluster instead of a copy of the cached template.
import { writeFileSync } from 'node:fs';
import { basename } from 'node:path';

const [rssFile, mode, ...rest] = process.argv.slice(2);
if (!rssFile || !mode) throw new Error('usage: bench-drill.ts RSS_FILE [--lean | --initdb] check --dump PATH …');
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
let startupSeconds = 0;
process.on('exit', () => writeFileSync(rssFile, `${JSON.stringify({ maxRssKb: process.resourceUsage().maxRSS, startupSeconds })}\n`));

if (mode === '--lean' || mode === '--initdb') {
  const [{ runDrill }, { localPostgres }, { fileSource }] = await Promise.all([
    import('../src/drill/run-drill.ts'),
    import('../src/environments/local-postgres.ts'),
    import('../src/sources/file-source.ts'),
  ]);
  startupSeconds = performance.now() / 1000; // since the process started: loading what the drill needs
  const option = (name: string) => {
    const at = rest.indexOf(name);
    return at >= 0 ? rest[at + 1] : undefined;
  };
  const dump = option('--dump')!;
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
  const { main } = await import('../src/cli/main.ts');
  startupSeconds = performance.now() / 1000; // since the process started: loading the CLI
  process.exitCode = await main([mode, ...rest]);
}
