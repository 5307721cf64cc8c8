import { InterruptedError } from '../errors.ts';

/**
 * The few object operations a lease pool needs from where the shards meet: an evidence store's `leases/`
 * prefix (S3, `If-None-Match: *`) or a shared directory (`O_EXCL`). Names are flat under one pool.
 */
export interface LeaseObjects {
  /** Where the pool lives, for messages, e.g. `s3://evidence/fleet/leases/rds-instances/`. */
  readonly where: string;
  /** The names of the pool's objects. */
  list(): Promise<string[]>;
  /** Creates `name` only when it does not exist yet: of two writers exactly one gets `created`. */
  create(name: string, body: string): Promise<'created' | 'exists'>;
  /** The object's body, or null when it is not there. */
  read(name: string): Promise<string | null>;
  /** Replaces an object only its creator writes (a renewal, a release). */
  replace(name: string, body: string): Promise<void>;
  /** Removes an object; one that is already gone is fine. */
  remove(name: string): Promise<void>;
}

/** One lease object: slot `slot`, generation `generation` of the pool. */
interface LeaseRecord {
  readonly slot: number;
  readonly generation: number;
  readonly holder: string;
  readonly acquiredAt: string;
  readonly expiresAt: string;
  readonly releasedAt?: string;
}

/** Options of {@link acquireLease}. */
export interface AcquireLeaseOptions {
  /** At most this many leases are held at once (K). */
  readonly limit: number;
  /** Who holds the lease, for the others' progress lines, e.g. the drill's name and run id. */
  readonly holder: string;
  /** A lease not renewed for this long is free for another holder. */
  readonly ttlSeconds: number;
  /** How often a waiting holder looks again; default a tenth of the ttl, at most 10 s. */
  readonly pollSeconds?: number;
  readonly log: (line: string) => void;
  readonly signal?: AbortSignal;
}

/** What happened to a lease while it was held: `held` throughout, or `lost` with why. */
export type LeaseOutcome = { readonly held: true } | { readonly held: false; readonly reason: string };

/** A held lease: renewed in the background until {@link Lease.release}. */
export interface Lease {
  /** Which of the K slots, from 0. */
  readonly slot: number;
  /** How long the holder waited for it, in seconds. */
  readonly waitedSeconds: number;
  /**
   * When the slot was taken from a lease that expired without being released (its holder crashed, or
   * stalled past its ttl, possibly in its teardown): who held it and when it expired. That holder's
   * instance may still have existed, so the limit was not guaranteed while this lease was held.
   */
  readonly tookOverFrom?: { readonly holder: string; readonly expiresAt: string };
  /** Whether the lease was held without a gap so far: looks at the pool now (an expiry, a newer holder). */
  outcome(): Promise<LeaseOutcome>;
  /** Stops renewing and frees the slot. Safe to call twice. */
  release(): Promise<void>;
}

const NAME = /^slot-(\d+)-(\d{8})\.json$/;

function objectName(slot: number, generation: number): string {
  return `slot-${slot}-${String(generation).padStart(8, '0')}.json`;
}

/**
 * Waits for one of `limit` slots of a pool and holds it: at most `limit` holders at once across every
 * process and machine that uses the same objects. Slot `i`'s current lease is its newest generation; a
 * holder takes a free slot (none yet, released, or expired) by creating the next generation with a
 * create-if-absent write, so of two that race only one gets it. The holder renews its own object every
 * third of the ttl; a renewal that comes after the expiry, or finds a newer generation (someone took the
 * expired slot), marks the lease lost: the caller reports that the limit was not guaranteed.
 *
 * @example
 * const lease = await acquireLease(objects, { limit: 2, holder: 'orders (run 1f3a)', ttlSeconds: 600, log });
 * try { await restoreAndVerify(); } finally { await lease.release(); }
 * const outcome = await lease.outcome(); // { held: true } or { held: false, reason }
 */
export async function acquireLease(objects: LeaseObjects, options: AcquireLeaseOptions): Promise<Lease> {
  const started = Date.now();
  const poll = (options.pollSeconds ?? Math.min(10, options.ttlSeconds / 10)) * 1000;
  let lastSaid = '';
  for (;;) {
    if (options.signal?.aborted) throw new InterruptedError(options.signal.reason);
    const current = await currentGenerations(objects);
    const busy: string[] = [];
    for (let slot = 0; slot < options.limit; slot++) {
      const generation = current.get(slot);
      const record = generation === undefined ? null : await readRecord(objects, objectName(slot, generation));
      if (record && isLive(record)) {
        busy.push(`${record.holder} until ${record.expiresAt}`);
        continue;
      }
      // Free: never used, released, expired, or its object vanished (a generation past it is created).
      const next = generation === undefined ? 0 : generation + 1;
      const now = new Date();
      const mine: LeaseRecord = {
        slot,
        generation: next,
        holder: options.holder,
        acquiredAt: now.toISOString(),
        expiresAt: new Date(now.getTime() + options.ttlSeconds * 1000).toISOString(),
      };
      if ((await objects.create(objectName(slot, next), serialize(mine))) === 'exists') {
        // Another holder took this slot between our look and our write.
        const winner = await readRecord(objects, objectName(slot, next));
        busy.push(`${winner?.holder ?? 'another holder'} until ${winner?.expiresAt ?? '?'}`);
        continue;
      }
      // Older generations of the slot are history now; removing them keeps listing cheap (best effort).
      if (generation !== undefined) await objects.remove(objectName(slot, generation)).catch(() => {});
      const waitedSeconds = Math.round((Date.now() - started) / 100) / 10;
      options.log(`lease: slot ${slot + 1} of ${options.limit} in ${objects.where} held`);
      // A lapsed lease (not live, never released): its holder never said its instance was gone.
      const lapsed = record && !record.releasedAt ? { holder: record.holder, expiresAt: record.expiresAt } : undefined;
      return new HeldLease(objects, mine, options, waitedSeconds, lapsed);
    }
    const said = `lease: all ${options.limit} slot(s) of ${objects.where} are held (${busy.join('; ')}); waiting`;
    if (said !== lastSaid) options.log(said);
    lastSaid = said;
    await sleep(poll, options.signal);
  }
}

class HeldLease implements Lease {
  readonly slot: number;
  #record: LeaseRecord;
  #lost: string | null = null;
  #expired: string | null = null;
  #takenBy: string | null = null;
  #timer: NodeJS.Timeout | undefined;
  #renewing: Promise<void> = Promise.resolve();
  #released = false;

  constructor(
    private readonly objects: LeaseObjects,
    record: LeaseRecord,
    private readonly options: AcquireLeaseOptions,
    readonly waitedSeconds: number,
    readonly tookOverFrom?: { readonly holder: string; readonly expiresAt: string },
  ) {
    this.slot = record.slot;
    this.#record = record;
    this.#timer = setInterval(
      () => {
        this.#renewing = this.#renewing.then(() => this.#renew()).catch(() => {});
      },
      (options.ttlSeconds * 1000) / 3,
    );
    this.#timer.unref();
  }

  async outcome(): Promise<LeaseOutcome> {
    if (!this.#released) {
      const checked = this.#renewing.then(() => this.#check());
      this.#renewing = checked.catch(() => {});
      await checked;
    }
    return this.#lost === null ? { held: true } : { held: false, reason: this.#lost };
  }

  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    clearInterval(this.#timer);
    await this.#renewing;
    await this.#check();
    // A newer holder owns the slot now: leave its state alone. A lease that only expired is still marked
    // released, so whoever takes the slot next knows this holder's instance was gone first.
    if (this.#takenBy !== null) return;
    const name = objectName(this.slot, this.#record.generation);
    await this.objects.replace(name, serialize({ ...this.#record, releasedAt: new Date().toISOString() }));
    this.options.log(`lease: slot ${this.slot + 1} of ${this.options.limit} released`);
  }

  async #renew(): Promise<void> {
    if (this.#released || this.#lost !== null) return;
    await this.#check();
    if (this.#lost !== null) return;
    const now = Date.now();
    const renewed = { ...this.#record, expiresAt: new Date(now + this.options.ttlSeconds * 1000).toISOString() };
    await this.objects.replace(objectName(this.slot, renewed.generation), serialize(renewed));
    this.#record = renewed;
  }

  /** Marks the lease lost when it expired before being renewed, or a newer generation took its slot. */
  async #check(): Promise<void> {
    const before = this.#lost;
    const where = `slot ${this.slot + 1} of ${this.options.limit} in ${this.objects.where}`;
    if (!this.#expired && Date.now() > Date.parse(this.#record.expiresAt)) {
      this.#expired = `the lease on ${where} expired at ${this.#record.expiresAt} while the drill still ran (not renewed in time)`;
    }
    if (this.#takenBy === null) {
      const newest = (await currentGenerations(this.objects)).get(this.slot);
      if (newest !== undefined && newest > this.#record.generation) {
        this.#takenBy = (await readRecord(this.objects, objectName(this.slot, newest)))?.holder ?? 'another holder';
      }
    }
    if (this.#expired || this.#takenBy !== null) {
      this.#lost = [
        this.#expired ?? `the lease on ${where} was lost while the drill still ran`,
        ...(this.#takenBy === null
          ? []
          : [`${this.#takenBy} took the slot, so more than ${this.options.limit} may have run at once`]),
      ].join('; ');
    }
    if (this.#lost !== null && this.#lost !== before) this.options.log(`lease: ${this.#lost}`);
  }
}

async function currentGenerations(objects: LeaseObjects): Promise<Map<number, number>> {
  const newest = new Map<number, number>();
  for (const name of await objects.list()) {
    const match = NAME.exec(name);
    if (!match) continue;
    const slot = Number(match[1]);
    const generation = Number(match[2]);
    if (generation > (newest.get(slot) ?? -1)) newest.set(slot, generation);
  }
  return newest;
}

async function readRecord(objects: LeaseObjects, name: string): Promise<LeaseRecord | null> {
  const text = await objects.read(name);
  if (text === null) return null;
  try {
    const value = JSON.parse(text) as Partial<LeaseRecord>;
    if (typeof value.expiresAt === 'string' && typeof value.holder === 'string') return value as LeaseRecord;
  } catch {
    // an unreadable lease is treated as expired below
  }
  return {
    slot: -1,
    generation: -1,
    holder: 'a holder whose lease object is unreadable',
    acquiredAt: '',
    expiresAt: new Date(0).toISOString(),
  };
}

function isLive(record: LeaseRecord): boolean {
  return !record.releasedAt && Date.parse(record.expiresAt) > Date.now();
}

function serialize(record: LeaseRecord): string {
  return `${JSON.stringify(record, null, 2)}\n`;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(new InterruptedError(signal?.reason));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
