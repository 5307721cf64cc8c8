import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { motoS3Client, startMotoServer, type MotoServer } from '../testing/moto-server.ts';
import { openEvidenceStore } from './evidence-store.ts';
import { directoryLeaseObjects } from './lease-directory.ts';
import { acquireLease, type AcquireLeaseOptions, type Lease, type LeaseObjects } from './lease-pool.ts';

let moto: MotoServer;
let dir: string;
let pools = 0;

beforeAll(async () => {
  moto = await startMotoServer();
  const s3 = s3Client();
  await s3.send(new CreateBucketCommand({ Bucket: 'evidence' }));
  s3.destroy();
  dir = await mkdtemp(join(tmpdir(), 'lease-pool-test-'));
});
afterAll(async () => {
  await moto?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const s3Client = () => motoS3Client(moto);

/** A pool of its own per test, in a shared directory or in an evidence store on moto. */
const backends: Record<string, () => Promise<LeaseObjects>> = {
  directory: async () => directoryLeaseObjects(join(dir, `pool-${++pools}`)),
  's3 evidence store': async () =>
    (await openEvidenceStore(`s3://evidence/t${++pools}/`, { client: s3Client() })).leaseObjects('rds-instances'),
};

/** Options with a log that records lines and resolves `waiting` once the holder says it waits. */
function holder(name: string, events: string[], extra: Partial<AcquireLeaseOptions> = {}) {
  let said: () => void = () => {};
  const waiting = new Promise<void>((resolve) => (said = resolve));
  const options: AcquireLeaseOptions = {
    limit: 1,
    holder: name,
    ttlSeconds: 60,
    pollSeconds: 0.05,
    log: (line) => {
      if (/waiting$/.test(line)) {
        if (!events.includes(`${name} waits`)) events.push(`${name} waits`);
        said();
      }
    },
    ...extra,
  };
  return { options, waiting };
}

describe.each(Object.keys(backends))('a lease pool in a %s', (backend) => {
  test('with K=1 a second holder waits, naming who holds the slot, and gets it when the first releases', async () => {
    const objects = await backends[backend]!();
    const events: string[] = [];
    const a = await acquireLease(objects, holder('drill A', events).options);
    events.push('A holds');
    const b = holder('drill B', events);
    const lines: string[] = [];
    const bLease = acquireLease(objects, {
      ...b.options,
      log: (line) => {
        lines.push(line);
        b.options.log(line);
      },
    }).then((lease) => {
      events.push('B holds');
      return lease;
    });
    await b.waiting;
    expect(lines.find((l) => /waiting$/.test(l))).toMatch(
      /all 1 slot\(s\) of .* are held \(drill A until .*\); waiting/,
    );
    events.push('A releases');
    await a.release();
    const held = await bLease;
    expect(events).toEqual(['A holds', 'drill B waits', 'A releases', 'B holds']);
    expect(held.slot).toBe(0);
    expect(await held.outcome()).toEqual({ held: true });
    expect(await a.outcome()).toEqual({ held: true });
    await held.release();
  });

  test('of three holders racing for K=2 slots, two hold distinct slots and the third waits', async () => {
    const objects = await backends[backend]!();
    const events: string[] = [];
    const racers = ['X', 'Y', 'Z'].map((name) => holder(name, events));
    const holding: Lease[] = [];
    let twoHeld: () => void = () => {};
    const bothHeld = new Promise<void>((resolve) => (twoHeld = resolve));
    const leases = racers.map((r) =>
      acquireLease(objects, { ...r.options, limit: 2 }).then((lease) => {
        if (holding.push(lease) === 2) twoHeld();
        return lease;
      }),
    );
    await Promise.race(racers.map((r) => r.waiting));
    await bothHeld;
    expect(holding.map((l) => l.slot).sort()).toEqual([0, 1]);
    expect(events.filter((e) => e.endsWith('waits'))).toHaveLength(1);
    await holding[0]!.release();
    const all = await Promise.all(leases);
    await Promise.all(all.map((l) => l.release()));
  });

  test('a lease that expired while its holder stalled is taken by another and reported lost, naming the taker', async () => {
    const objects = await backends[backend]!();
    const events: string[] = [];
    const stalled = await acquireLease(objects, holder('drill A', events, { ttlSeconds: 1 }).options);
    // The holder's process is stuck (no timer runs) past its lease's expiry, as a paused VM or a GC storm would.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1300);
    const taker = await acquireLease(objects, holder('drill B', events).options);
    // The taker knows whose lapsed lease it took: that holder's instance may still have existed.
    expect(taker.tookOverFrom).toEqual({ holder: 'drill A', expiresAt: expect.stringMatching(/^\d{4}-/) });
    const outcome = await stalled.outcome();
    expect(outcome.held).toBe(false);
    expect(outcome.held ? '' : outcome.reason).toMatch(
      /^the lease on slot 1 of 1 in .* expired at .* while the drill still ran \(not renewed in time\); drill B took the slot, so more than 1 may have run at once$/,
    );
    // The stalled holder's release leaves the taker's lease alone: a third holder still waits for it.
    await stalled.release();
    const third = holder('drill C', events);
    const thirdLease = acquireLease(objects, third.options);
    await third.waiting;
    await taker.release();
    const released = await thirdLease;
    expect(released.tookOverFrom).toBeUndefined(); // taken after a release: nothing lapsed
    await released.release();
    expect(await taker.outcome()).toEqual({ held: true });
  });
});

test('a lease released after it expired, before anyone took its slot, is no lapse for the next holder', async () => {
  const objects = await backends.directory!();
  const late = await acquireLease(objects, holder('drill A', [], { ttlSeconds: 1 }).options);
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1300); // its teardown stalls past the ttl
  expect((await late.outcome()).held).toBe(false);
  await late.release();
  const next = await acquireLease(objects, holder('drill B', []).options);
  expect(next.tookOverFrom).toBeUndefined();
  await next.release();
});

test('waiting for a lease stops when the drill is interrupted', async () => {
  const objects = await backends.directory!();
  const held = await acquireLease(objects, holder('drill A', []).options);
  const controller = new AbortController();
  const waiter = holder('drill B', []);
  const waiting = acquireLease(objects, { ...waiter.options, signal: controller.signal });
  await waiter.waiting;
  controller.abort('SIGTERM');
  await expect(waiting).rejects.toThrow('interrupted by SIGTERM');
  await held.release();
});
