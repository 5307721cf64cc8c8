import type { KeyObject } from 'node:crypto';
import { copyFile, mkdir, readdir } from 'node:fs/promises';
import { basename, join, relative } from 'node:path';
import type { DrillMeta } from '../model/drill-meta.ts';
import { checkHead, formatHead, runHead } from '../evidence/ledger-head.ts';
import { REPORT_SUFFIX, MARKDOWN_SUFFIX } from '../evidence/report-files.ts';
import { writeFileAtomically } from '../util/atomic-write.ts';
import { renderCiSummary, type CiRun } from '../views/ci-summary.ts';
import { buildControlMatrix, renderControlsMarkdown } from '../views/controls.ts';
import { groupByDrill, loadHistory, type ReportHistory } from '../views/history.ts';
import { HTML_SUFFIX, INDEX_FILE, writeHtmlIndex } from '../views/html/html-pages.ts';
import { renderJunit } from '../views/junit.ts';
import { pushMetrics, writeMetricsFile } from '../views/metrics-export.ts';
import type { MergedFleet } from './merge-shards.ts';
import { renderTimings, timingsOf, TIMINGS_FILE } from './shard-timings.ts';

/** Where the merged result goes and what it is checked against. */
export interface MergeOutputOptions {
  readonly out: string;
  /** Checks every signature and the ledger (the store's, or each shard's chain); without it they are not checked, and the summary says so. */
  readonly publicKey?: KeyObject;
  /** The evidence store the shards appended to: its chain is the fleet's ledger. */
  readonly evidence?: string;
  readonly metricsFile?: string;
  readonly pushgateway?: URL;
  readonly warn: (line: string) => void;
}

/** What the merged outputs say. */
export interface MergeVerdict {
  /** Every expected shard finished, every drill ran and passed, and the ledger verified (when a key was given). */
  readonly passed: boolean;
  readonly problems: readonly string[];
  /** One line on the ledger: which chain, verified or not. */
  readonly ledger: string;
  readonly written: readonly string[];
}

/** The merge record beside the outputs: what was merged, from where, with which verdict. */
export const FLEET_FILE = 'fleet.json';

/**
 * Writes the one result of a fleet run into `out`: `junit.xml`, `summary.md`, `controls.md`, `index.html`,
 * `timings.json` (what the next run's shards balance by; also put in the evidence store — only by a merge
 * that passed, so a failed one leaves the last good timings in place), `fleet.json`, and
 * metrics. The ledger is never forked: with an evidence store the shards appended to one chain, which is
 * copied to `out/reports/` and verified; without one, each shard's chain stays its own under
 * `out/shards/<i>/`, verified one by one against the head the shard recorded.
 *
 * @example
 * const verdict = await writeMergedFleet(await mergeShards(dirs), { out: 'merged', publicKey, warn: console.error });
 */
export async function writeMergedFleet(fleet: MergedFleet, options: MergeOutputOptions): Promise<MergeVerdict> {
  const { out, publicKey } = options;
  await mkdir(out, { recursive: true });
  const problems = [...fleet.problems];
  const evidence = options.evidence ?? fleet.evidence ?? undefined;
  const { history, ledger, where } = evidence
    ? await storeHistory(fleet, evidence, options, problems)
    : await shardHistories(fleet, options, problems);

  // The shards' records, pointing at the copies in `out`.
  const drills: DrillMeta[] = fleet.drills.map(({ drill, shard }) => {
    const dir = where(shard);
    return {
      ...drill,
      reportPath: join(dir, basename(drill.reportPath)),
      markdownPath: join(dir, basename(drill.markdownPath)),
    };
  });
  const run: CiRun = { drills, notRun: fleet.notRun.map(({ name, reason }) => ({ name, reason })) };
  const written: string[] = [];
  const put = async (file: string, content: string) => {
    const path = join(out, file);
    const problem = await writeFileAtomically(path, content);
    if (problem) options.warn(`restore-drill: warning: cannot write ${path}: ${problem}`);
    else written.push(path);
  };
  await put('junit.xml', renderJunit(run));
  await put(
    'summary.md',
    renderCiSummary(run, { links: 'relative', reportDir: out }) + fleetSection(fleet, problems, ledger),
  );
  await put('controls.md', renderControlsMarkdown(buildControlMatrix(history)));
  await writeHtmlIndex(history, join(out, INDEX_FILE), publicKey ? 'the key given to merge' : undefined).then(
    () => written.push(join(out, INDEX_FILE)),
    (error: Error) =>
      options.warn(`restore-drill: warning: cannot write ${join(out, INDEX_FILE)}: ${error.message.split('\n')[0]}`),
  );
  const passed = problems.length === 0 && run.notRun.length === 0 && drills.every((d) => d.status === 'passed');
  // Only a merge that passed changes what the next run balances by: the times of a run with missing shards,
  // drills not run or failed, or an unverified chain are not the fleet's (and a drill that failed early is short).
  if (passed) await keepTimings(fleet, evidence, put, options.warn);
  else options.warn(`restore-drill: ${TIMINGS_FILE} not updated: the merge did not pass`);
  await put(
    FLEET_FILE,
    `${JSON.stringify(
      {
        version: 1,
        passed,
        count: fleet.count,
        plan: { digest: fleet.planDigest, balancedBy: fleet.balancedBy, files: fleet.files.length },
        shards: fleet.shards.map((s) => ({
          index: s.index,
          dir: s.dir,
          finished: s.finished,
          end: s.manifest.end,
          drills: s.manifest.results.length,
          head: runHead(s.manifest.results.map((r) => r.drill)),
        })),
        missing: fleet.missing,
        drills: {
          total: drills.length + run.notRun.length,
          passed: drills.filter((d) => d.status === 'passed').length,
          failed: drills.filter((d) => d.status !== 'passed').length,
          notRun: run.notRun.length,
        },
        ledger,
        problems,
      },
      null,
      2,
    )}\n`,
  );
  if (options.metricsFile) {
    const problem = await writeMetricsFile(options.metricsFile, drills);
    if (problem) options.warn(`restore-drill: warning: cannot write metrics to ${options.metricsFile}: ${problem}`);
  }
  if (options.pushgateway)
    for (const problem of await pushMetrics(options.pushgateway, drills))
      options.warn(`restore-drill: warning: ${problem}`);
  return { passed, problems, ledger, written };
}

/** Writes the merged run's `timings.json` into `out` and, with a store, to `fleet/timings.json` there. */
async function keepTimings(
  fleet: MergedFleet,
  evidence: string | undefined,
  put: (file: string, content: string) => Promise<void>,
  warn: (line: string) => void,
): Promise<void> {
  const timings = renderTimings(
    timingsOf(
      fleet.drills.map((d) => ({ file: d.file, startedAt: d.drill.startedAt, finishedAt: d.drill.finishedAt })),
    ),
  );
  await put(TIMINGS_FILE, timings);
  if (evidence && fleet.drills.length > 0) {
    const { openEvidenceStore } = await import('../evidence/evidence-store.ts');
    const store = await openEvidenceStore(evidence);
    await store
      .writeFleetFile(TIMINGS_FILE, timings)
      .catch((error: Error) =>
        warn(`restore-drill: warning: cannot keep ${TIMINGS_FILE} in ${evidence}: ${error.message.split('\n')[0]}`),
      );
    store.destroy();
  }
}

type Histories = { history: ReportHistory; ledger: string; where: (shard: number) => string };

/** With a store: its one chain, copied to `out/reports/`, verified, and every drill of the fleet found in it. */
async function storeHistory(
  fleet: MergedFleet,
  uri: string,
  options: MergeOutputOptions,
  problems: string[],
): Promise<Histories> {
  const { openEvidenceStore } = await import('../evidence/evidence-store.ts');
  const { verifyStore } = await import('../evidence/store-verifier.ts');
  const dir = join(options.out, 'reports');
  const store = await openEvidenceStore(uri);
  let ledger: string;
  try {
    await store.syncInto(dir);
    const entries = await store.ledger();
    const digests = new Set(entries.map((e) => e.digest));
    for (const { drill, shard } of fleet.drills) {
      if (drill.ledger && !digests.has(drill.ledger.digest))
        problems.push(
          `shard ${shard}/${fleet.count}: drill "${drill.name}": its report ${formatHead(drill.ledger)} is not in the ledger of ${uri}`,
        );
    }
    if (options.publicKey) {
      const verdict = await verifyStore(store, options.publicKey);
      problems.push(...verdict.problems);
      ledger = verdict.valid
        ? `${uri}: one chain, verified unbroken to position ${verdict.checkedAgainst?.position ?? 0}`
        : `${uri}: chain INVALID`;
    } else {
      const tip = entries.at(-1);
      ledger = `${uri}: one chain of ${tip?.position ?? 0} position(s); signatures and chain NOT checked (pass --key PUB.pem)`;
    }
  } finally {
    store.destroy();
  }
  return { history: await loadHistory(dir, { publicKey: options.publicKey }), ledger, where: () => dir };
}

/** Without a store: each shard's chain copied to `out/shards/<i>/` and verified on its own; one history of them all. */
async function shardHistories(fleet: MergedFleet, options: MergeOutputOptions, problems: string[]): Promise<Histories> {
  const where = (shard: number) => join(options.out, 'shards', String(shard));
  const parts: ReportHistory[] = [];
  for (const shard of fleet.shards) {
    const target = where(shard.index);
    await mkdir(target, { recursive: true });
    for (const name of await readdir(shard.reportsDir)) {
      if ([REPORT_SUFFIX, MARKDOWN_SUFFIX, HTML_SUFFIX].some((suffix) => name.endsWith(suffix)))
        await copyFile(join(shard.reportsDir, name), join(target, name));
    }
    const history = await loadHistory(target, { publicKey: options.publicKey });
    parts.push(history);
    const head = runHead(shard.manifest.results.map((r) => r.drill));
    if (history.ledger) {
      problems.push(...history.ledger.problems.map((p) => `shard ${shard.index}/${fleet.count}: ${p}`));
      if (head)
        problems.push(...checkHead(history.ledger.entries, head, `shard ${shard.index}/${fleet.count} (${shard.dir})`));
    }
  }
  const prefix = (i: number, file: string) => `${relative(options.out, where(fleet.shards[i]!.index))}/${file}`;
  const runs = parts.flatMap((h, i) => h.drills.flatMap((d) => d.runs.map((r) => ({ ...r, file: prefix(i, r.file) }))));
  const checked = parts.every((h) => h.ledger !== null);
  const valid = checked && parts.every((h) => h.ledger!.valid) && problems.length === fleet.problems.length;
  const history: ReportHistory = {
    dir: options.out,
    keyid: parts[0]?.keyid ?? null,
    drills: groupByDrill(runs),
    unreadable: parts.flatMap((h, i) => h.unreadable.map((u) => ({ ...u, file: prefix(i, u.file) }))),
    ledger: checked ? { valid, problems: parts.flatMap((h) => h.ledger!.problems), entries: [] } : null,
    files: parts.reduce((n, h) => n + h.files, 0),
  };
  const ledger = !options.publicKey
    ? `${fleet.shards.length} shard chain(s) (no evidence store); signatures and chains NOT checked (pass --key PUB.pem)`
    : `${fleet.shards.length} shard chain(s), one per shard (no evidence store), each ${valid ? 'verified unbroken to the head its shard recorded' : 'checked: INVALID'}`;
  return { history, ledger, where };
}

function fleetSection(fleet: MergedFleet, problems: readonly string[], ledger: string): string {
  const esc = (text: string) => text.replace(/[|\\`*_<>[\]]/g, (c) => `\\${c}`).replace(/\n/g, ' ');
  const lines = [
    '',
    `### Fleet: ${fleet.count} shard(s), ${fleet.files.length} drill file(s), balanced by ${fleet.balancedBy}`,
    '',
    '| shard | directory | drills | end |',
    '|---|---|---|---|',
  ];
  for (let index = 1; index <= fleet.count; index++) {
    const shard = fleet.shards.find((s) => s.index === index);
    if (!shard) lines.push(`| ${index}/${fleet.count} | — | — | ❌ MISSING |`);
    else
      lines.push(
        `| ${index}/${fleet.count} | ${esc(shard.dir)} | ${shard.manifest.results.length} of ${shard.manifest.assigned.length} file(s) | ${shard.finished ? esc(shard.manifest.end ?? '') : '❌ did not finish'} |`,
      );
  }
  lines.push('', `Ledger: ${esc(ledger)}`, '');
  if (problems.length > 0) lines.push('Problems:', '', ...problems.map((p) => `- ${esc(p)}`), '');
  return `${lines.join('\n')}\n`;
}
