// The restore-drill process the benchmark measures: `restore-drill check` exactly as bin/restore-drill.js runs it,
// plus its own peak memory (max RSS of this process alone, not of pg_restore or the server) and how long
// loading the CLI's modules took, written at exit.
//
//   node --import tsx scripts/bench-drill.ts RSS_FILE [--without-early-verify] check --dump PATH …
//
// --without-early-verify runs the same drill with an environment that never reports tables as loaded, so
// every table is compared after the restore (the "before" of that change); only `check --dump` is supported then.
import { writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { main } from '../src/cli/main.ts';
import { runDrill } from '../src/drill/run-drill.ts';
import type { Environment } from '../src/environments/environment.ts';
import { localPostgres } from '../src/environments/local-postgres.ts';
import { fileSource } from '../src/sources/file-source.ts';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const [rssFile, ...rest] = process.argv.slice(2);
if (!rssFile) throw new Error('usage: bench-drill.ts RSS_FILE [--without-early-verify] check --dump PATH …');
// Static imports are loaded by now: the time since the process started is the CLI's start-up.
const startupSeconds = performance.now() / 1000;
process.on('exit', () => writeFileSync(rssFile, `${JSON.stringify({ maxRssKb: process.resourceUsage().maxRSS, startupSeconds })}\n`));

if (rest[0] === '--without-early-verify') {
  const args = rest.slice(1);
  const option = (name: string) => {
    const at = args.indexOf(name);
    return at >= 0 ? args[at + 1] : undefined;
  };
  const dump = option('--dump')!;
  const result = await runDrill({
    name: `check ${basename(dump)}`,
    file: null,
    source: fileSource(dump),
    environment: withoutEarlyVerify(localPostgres()),
    reportDir: option('--report-dir'),
    signingKey: option('--signing-key'),
  });
  process.stdout.write(`status: ${result.status}\n    signed: ${result.reportPath}\n`);
  process.exitCode = result.status === 'passed' ? 0 : 1;
} else {
  process.exitCode = await main(rest);
}

/** The environment, with `onTableRestored` taken out of every restore. */
function withoutEarlyVerify(environment: Environment): Environment {
  return {
    kind: environment.kind,
    async start(context) {
      const started = await environment.start(context);
      return new Proxy(started, {
        get(target, property, receiver) {
          if (property === 'restore') {
            return (restorable: Parameters<typeof target.restore>[0], options: Parameters<typeof target.restore>[1]) =>
              target.restore(restorable, { ...options, onTableRestored: undefined });
          }
          const value = Reflect.get(target, property, receiver);
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
    },
  };
}
