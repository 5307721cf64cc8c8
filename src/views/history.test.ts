import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.ts';
import { forecastLine } from './forecast.ts';
import { loadHistory } from './history.ts';
import { monthlyRuns, newSigningKey, writeReportDirectory, type PastDrill } from './history.testkit.ts';

const key = newSigningKey();
let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'restore-drill-history-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const orders: PastDrill = {
  name: 'orders',
  runs: [
    { at: '2026-01-10T03:00:00Z', restoreSeconds: 100 },
    { at: '2026-01-20T03:00:00Z', restoreSeconds: 300, rpoSeconds: 7200 },
    { at: '2026-01-25T03:00:00Z', restoreSeconds: 200 },
    { at: '2026-02-10T03:00:00Z', restoreSeconds: null },
    { at: '2026-02-20T03:00:00Z', restoreSeconds: 1000, status: 'failed' },
    { at: '2026-03-10T03:00:00Z', restoreSeconds: 120 },
  ],
};
const billing: PastDrill = { name: 'billing', rtoTarget: null, runs: monthlyRuns('2026-01', [50, 60]) };

/** Edits a signed report the way someone hiding a slow restore would: the restore now took 1 s. */
async function tamper(path: string): Promise<void> {
  const envelope = JSON.parse(await readFile(path, 'utf8'));
  const statement = JSON.parse(Buffer.from(envelope.payload, 'base64').toString('utf8'));
  statement.predicate.phases.find((p: { name: string }) => p.name === 'restore').seconds = 1;
  envelope.payload = Buffer.from(JSON.stringify(statement)).toString('base64');
  await writeFile(path, JSON.stringify(envelope, null, 2));
}

describe('loadHistory', () => {
  it('groups runs per drill, oldest first, with restore time, objectives and monthly aggregates', async () => {
    await writeReportDirectory(dir, key, [orders, billing]);
    const history = await loadHistory(dir, { publicKey: key.publicKey });
    expect(history).toMatchObject({
      dir,
      keyid: key.keyid,
      files: 8,
      unreadable: [],
      ledger: { valid: true, problems: [] },
    });
    expect(history.drills.map((d) => d.name)).toEqual(['billing', 'orders']);

    const drill = history.drills[1]!;
    expect(drill.runs.map((r) => [r.report.startedAt.slice(0, 10), r.status, r.restoreSeconds])).toEqual([
      ['2026-01-10', 'passed', 100],
      ['2026-01-20', 'passed', 300],
      ['2026-01-25', 'passed', 200],
      ['2026-02-10', 'failed', null],
      ['2026-02-20', 'failed', 1000],
      ['2026-03-10', 'passed', 120],
    ]);
    expect(
      drill.runs.every((r) => r.signature.state === 'verified' && r.signature.keyid === key.keyid && r.trusted),
    ).toBe(true);
    // RTO clock = locate 0.5 + provision 3 + restore + verify 20.
    expect(drill.runs[0]!.rto).toEqual({ targetSeconds: 900, actualSeconds: 123.5, met: true });
    expect(drill.runs[4]!.rto).toEqual({ targetSeconds: 900, actualSeconds: 1023.5, met: false });
    expect(drill.runs[1]!.rpo).toEqual({ targetSeconds: 28800, actualSeconds: 7200, met: true, basis: 'marker' });

    expect(drill.months).toEqual([
      {
        month: '2026-01',
        runs: 3,
        passed: 3,
        failed: 0,
        restore: { max: 300, median: 200 },
        rpo: { max: 7200, median: 3600 },
        rtoTargetSeconds: 900,
        rpoTargetSeconds: 28800,
      },
      {
        month: '2026-02',
        runs: 2,
        passed: 0,
        failed: 2,
        restore: { max: 1000, median: 1000 },
        rpo: { max: 3600, median: 3600 },
        rtoTargetSeconds: 900,
        rpoTargetSeconds: 28800,
      },
      {
        month: '2026-03',
        runs: 1,
        passed: 1,
        failed: 0,
        restore: { max: 120, median: 120 },
        rpo: { max: 3600, median: 3600 },
        rtoTargetSeconds: 900,
        rpoTargetSeconds: 28800,
      },
    ]);
    expect(history.drills[0]!.months.map((m) => m.rtoTargetSeconds)).toEqual([null, null]);
  });

  it('gives one forecast line for a summary, for all drills or the named ones', async () => {
    await writeReportDirectory(dir, key, [orders, billing]);
    const history = await loadHistory(dir);
    expect(forecastLine(history)).toBe(
      'Forecast — billing: not enough history for a forecast: restore times from 2 months, at least 3 needed; ' +
        'orders: restore time is not growing (−1m 30s/month over 3 months)',
    );
    expect(forecastLine(history, ['orders'])).toBe(
      'Forecast — orders: restore time is not growing (−1m 30s/month over 3 months)',
    );
    expect(forecastLine(history, ['nope'])).toBeUndefined();
  });

  it('takes the median of an even number of runs as the mean of the middle two', async () => {
    await writeReportDirectory(dir, key, [
      {
        name: 'x',
        runs: [
          { at: '2026-05-01T00:00:00Z', restoreSeconds: 100 },
          { at: '2026-05-02T00:00:00Z', restoreSeconds: 200 },
        ],
      },
    ]);
    const [drill] = (await loadHistory(dir)).drills;
    expect(drill!.months[0]!.restore).toEqual({ max: 200, median: 150 });
  });

  it('without a key reads reports as they claim to be, marked unchecked, and does not check the ledger', async () => {
    await writeReportDirectory(dir, key, [billing]);
    const history = await loadHistory(dir);
    expect(history.keyid).toBeNull();
    expect(history.ledger).toBeNull();
    expect(history.drills[0]!.runs.map((r) => r.signature)).toEqual([
      { state: 'unchecked', keyid: key.keyid },
      { state: 'unchecked', keyid: key.keyid },
    ]);
    expect(history.drills[0]!.runs.every((r) => r.trusted)).toBe(true);
  });

  it('lists a tampered report as invalid, keeps it out of the aggregates, and the ledger names it', async () => {
    const names = await writeReportDirectory(dir, key, [
      billing,
      { name: 'orders', runs: monthlyRuns('2026-01', [100, 200, 300]) },
    ]);
    const target = names.find((n) => n.startsWith('202602') && n.includes('orders'))!;
    await tamper(join(dir, target));

    const history = await loadHistory(dir, { publicKey: key.publicKey });
    const drill = history.drills.find((d) => d.name === 'orders')!;
    const run = drill.runs.find((r) => r.file === target)!;
    expect(run.signature).toEqual({ state: 'invalid', keyid: key.keyid, reason: 'signature does not match' });
    expect(run.trusted).toBe(false);
    expect(drill.months.map((m) => m.month)).toEqual(['2026-01', '2026-03']);
    expect(history.ledger?.valid).toBe(false);
    expect(history.ledger?.problems[0]).toBe(`${target}: signature does not match`);

    const other = newSigningKey();
    const withOtherKey = await loadHistory(dir, { publicKey: other.publicKey });
    expect(withOtherKey.drills[0]!.runs[0]!.signature).toEqual({
      state: 'invalid',
      keyid: other.keyid,
      reason: `no signature by key ${other.keyid}`,
    });
  });

  it('a quietly removed failed drill breaks the ledger, named at the report after it', async () => {
    const names = await writeReportDirectory(dir, key, [
      { name: 'orders', runs: monthlyRuns('2026-01', [100, null, 120, 130]) },
    ]);
    const failed = names[1]!;
    const before = await loadHistory(dir, { publicKey: key.publicKey });
    expect(before.drills[0]!.runs.find((r) => r.file === failed)?.status).toBe('failed');

    await rm(join(dir, failed));
    const after = await loadHistory(dir, { publicKey: key.publicKey });
    expect(after.drills[0]!.runs.every((r) => r.status === 'passed')).toBe(true);
    expect(after.ledger?.valid).toBe(false);
    expect(after.ledger?.problems).toEqual([
      expect.stringMatching(
        new RegExp(
          `^${names[2]}: its previous report sha256:[0-9a-f]{64} is not in .*: 1 report\\(s\\) missing after ${names[0]} \\(position 1\\) \\(a report was deleted or edited\\?\\)$`,
        ),
      ),
    ]);
  });

  it('lists files that are not reports as unreadable', async () => {
    await writeReportDirectory(dir, key, [billing]);
    await writeFile(join(dir, '20990101T000000Z-junk.report.json'), '{"payloadType": ');
    const history = await loadHistory(dir, { publicKey: key.publicKey });
    expect(history.files).toBe(3);
    expect(history.unreadable).toEqual([
      { file: '20990101T000000Z-junk.report.json', reason: 'not a DSSE envelope: not JSON' },
    ]);
    expect(history.drills[0]!.runs).toHaveLength(2);
    expect(history.ledger?.problems).toContain('20990101T000000Z-junk.report.json: not a DSSE envelope: not JSON');
  });

  it('refuses a directory that is not there with a ConfigError', async () => {
    const missing = join(dir, 'nope');
    await expect(loadHistory(missing)).rejects.toBeInstanceOf(ConfigError);
    await expect(loadHistory(missing)).rejects.toThrow(`report directory not found: ${missing}`);
  });
});
