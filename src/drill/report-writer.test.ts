import { generateKeyPairSync } from 'node:crypto';
import { existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, statfs, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.ts';
import { verifyEnvelope } from '../evidence/dsse.ts';
import { LOCK_FILE } from '../evidence/directory-lock.ts';
import { fileDigest } from '../evidence/report-files.ts';
import { writeReport } from './report-writer.ts';
import { sampleReport } from '../model/sample-report.fixture.ts';
import { fingerprint, resolveSigningKey, type SigningKey } from '../evidence/signing-key.ts';

const pair = generateKeyPairSync('ed25519');
const key: SigningKey = { ...pair, keyid: fingerprint(pair.publicKey), source: 'generated in memory' };
const { previous: _, ...report } = sampleReport();
const at = (iso: string) => new Date(iso);

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'restore-drill-reports-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('writeReport', () => {
  it('writes a pretty-printed DSSE envelope named by UTC time and drill slug, with markdown and HTML beside it', async () => {
    const written = await writeReport({ report, reportDir: dir, key, now: at('2026-11-23T17:55:33.900Z') });
    expect(basename(written.jsonPath)).toBe('20261123T175533Z-orders-db-nightly-dump.report.json');
    expect(basename(written.markdownPath)).toBe('20261123T175533Z-orders-db-nightly-dump.report.md');
    expect(written.previous).toBeNull();

    const text = await readFile(written.jsonPath, 'utf8');
    expect(text).toMatch(/^\{\n {2}"payloadType": "application\/vnd.in-toto\+json",\n/);
    const verified = verifyEnvelope(JSON.parse(text), key.publicKey);
    expect(verified.valid && (verified.statement as { predicate: unknown }).predicate).toEqual({
      ...report,
      signing: { demoKey: false },
      previous: null,
      position: 1,
      reportFile: '20261123T175533Z-orders-db-nightly-dump.report.json',
    });

    const markdown = await readFile(written.markdownPath, 'utf8');
    expect(markdown).toContain('Orders DB: nightly dump');
    expect(markdown).toContain(`restore-drill verify ${basename(written.jsonPath)} --key PUB.pem`);
    expect(markdown).toContain(key.keyid);
    expect(basename(written.htmlPath)).toBe('20261123T175533Z-orders-db-nightly-dump.report.html');
    expect((await readdir(dir)).sort()).toEqual(
      [basename(written.jsonPath), basename(written.markdownPath), basename(written.htmlPath), 'index.html'].sort(),
    );
  });

  it('says in the signed predicate when a demo key signed the report', async () => {
    const demo = resolveSigningKey({ defaultDir: join(dir, '.keys'), log: () => {}, ci: false });
    const written = await writeReport({ report, reportDir: dir, key: demo });
    const verified = verifyEnvelope(JSON.parse(await readFile(written.jsonPath, 'utf8')), demo.publicKey);
    expect(verified.valid && (verified.statement as { predicate: { signing: unknown } }).predicate.signing).toEqual({
      demoKey: true,
    });
  });

  it('links each report to the bytes of the one before it', async () => {
    const first = await writeReport({ report, reportDir: dir, key, now: at('2026-11-23T17:00:00Z') });
    const second = await writeReport({ report, reportDir: dir, key, now: at('2026-11-23T18:00:00Z') });
    expect(second.previous).toBe(fileDigest(await readFile(first.jsonPath)));
    expect([first.head.position, second.head.position]).toEqual([1, 2]);
    expect(second.head.digest).toBe(fileDigest(await readFile(second.jsonPath)));
    const verified = verifyEnvelope(JSON.parse(await readFile(second.jsonPath, 'utf8')), key.publicKey);
    expect(verified.valid && (verified.statement as { predicate: { previous: string } }).predicate.previous).toBe(
      second.previous,
    );
  });

  it('adds -2, -3 when the name is taken, keeping name order as ledger order', async () => {
    const now = at('2026-11-23T17:55:33Z');
    const names = [];
    for (let i = 0; i < 3; i++)
      names.push(basename((await writeReport({ report, reportDir: dir, key, now })).jsonPath));
    expect(names).toEqual([
      '20261123T175533Z-orders-db-nightly-dump.report.json',
      '20261123T175533Z-orders-db-nightly-dump-2.report.json',
      '20261123T175533Z-orders-db-nightly-dump-3.report.json',
    ]);
  });

  it('never names a report so that it sorts before the newest one', async () => {
    const now = at('2026-11-23T17:55:33Z');
    await writeReport({ report: { ...report, drill: { name: 'zeta', file: null } }, reportDir: dir, key, now });
    const alpha = await writeReport({
      report: { ...report, drill: { name: 'alpha', file: null } },
      reportDir: dir,
      key,
      now,
    });
    expect(basename(alpha.jsonPath)).toBe('20261123T175534Z-alpha.report.json');
    const earlier = await writeReport({ report, reportDir: dir, key, now: at('2026-11-23T09:00:00Z') });
    expect(basename(earlier.jsonPath) > basename(alpha.jsonPath)).toBe(true);
  });

  it('writes its report beside a stray file that sorts after every time stamp (it once looped forever)', async () => {
    const first = await writeReport({ report, reportDir: dir, key, now: at('2026-11-23T17:00:00Z') });
    await writeFile(join(dir, 'zzzz.report.json'), '{"not": "a report"}');
    const second = await writeReport({ report, reportDir: dir, key, now: at('2026-11-23T18:00:00Z') });
    expect(basename(second.jsonPath)).toBe('20261123T180000Z-orders-db-nightly-dump.report.json');
    expect(second.previous).toBe(fileDigest(await readFile(first.jsonPath)));
  });

  it('names its report after one stamped in the last second of year 9999, or says it cannot', async () => {
    await writeFile(join(dir, '99991231T235958Z-zzz.report.json'), '{}');
    const next = await writeReport({ report, reportDir: dir, key, now: at('2026-11-23T18:00:00Z') });
    expect(basename(next.jsonPath)).toBe('99991231T235959Z-orders-db-nightly-dump.report.json');
    await writeFile(join(dir, '99991231T235959Z-zzz.report.json'), '{}');
    await expect(writeReport({ report, reportDir: dir, key })).rejects.toThrow(
      /no report name sorts after 99991231T235959Z-zzz\.report\.json/,
    );
  });

  it('gives concurrent drills distinct previous reports (the directory lock)', async () => {
    const written = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        writeReport({ report: { ...report, runId: `run-${i}` }, reportDir: dir, key, now: at('2026-11-23T17:55:33Z') }),
      ),
    );
    const previous = written.map((w) => w.previous);
    expect(new Set(previous).size).toBe(6);
    expect(previous.filter((p) => p === null)).toHaveLength(1);
    expect(await readdir(dir)).not.toContain(LOCK_FILE);
  });

  it('creates a missing report directory', async () => {
    const nested = join(dir, 'a', 'b');
    const written = await writeReport({ report, reportDir: nested, key });
    expect(written.jsonPath.startsWith(nested)).toBe(true);
  });

  it('says a report directory that cannot be written is not writable', async () => {
    const file = join(dir, 'plain-file');
    await writeFile(file, '');
    const target = join(file, 'reports');
    const attempt = writeReport({ report, reportDir: target, key });
    await expect(attempt).rejects.toBeInstanceOf(ConfigError);
    await expect(attempt).rejects.toThrow(`report directory ${target} is not writable: not a directory (ENOTDIR)`);
  });

  it.skipIf(process.getuid?.() !== 0)(
    'a disk that fills up after the signed report is written costs only the views, with a warning',
    async () => {
      // A 64 KiB tmpfs with two pages left: one for the lock file, one for the signed JSON, none for the views.
      const full = join(dir, 'full');
      await mkdir(full);
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', full]);
      try {
        const { bavail, bsize } = await statfs(full);
        await writeFile(join(full, 'filler'), Buffer.alloc(bavail * bsize - 2 * bsize));
        const warnings: string[] = [];
        const written = await writeReport({ report, reportDir: full, key, warn: (line) => warnings.push(line) });
        expect(verifyEnvelope(JSON.parse(await readFile(written.jsonPath, 'utf8')), key.publicKey).valid).toBe(true);
        expect(warnings).toEqual([
          `restore-drill: warning: the signed report ${written.jsonPath} was written, its Markdown/HTML views were not: no space left on device (ENOSPC)`,
        ]);
      } finally {
        execFileSync('umount', [full]);
      }
    },
  );

  it('renders the views after the signed report is written and the directory lock released', async () => {
    const seen: string[] = [];
    const written = await writeReport({
      report,
      reportDir: dir,
      key,
      renderMarkdown: (r, opts) => {
        seen.push(
          `json ${existsSync(join(dir, opts.jsonFile ?? '')) ? 'written' : 'missing'}, lock ${existsSync(join(dir, LOCK_FILE)) ? 'held' : 'released'}`,
        );
        return `${r.drill.name}\n`;
      },
    });
    // Once without touching the directory (the evidence store's copy; none here), once for the file.
    expect(seen.at(-1)).toBe('json written, lock released');
    expect(await readFile(written.markdownPath, 'utf8')).toBe('Orders DB: nightly dump\n');
  });

  it('uses a custom markdown renderer when given one', async () => {
    const written = await writeReport({
      report,
      reportDir: dir,
      key,
      renderMarkdown: (r, opts) => `${r.drill.name} in ${opts.jsonFile}\n`,
    });
    expect(await readFile(written.markdownPath, 'utf8')).toBe(
      `Orders DB: nightly dump in ${basename(written.jsonPath)}\n`,
    );
  });
});
