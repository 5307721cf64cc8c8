// The benchmark's "production" backup: the fixtures/bench database of a given size, dumped by
// `restore-drill dump` (pg_dump plus a manifest taken in the dump's snapshot), cached between runs.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { link, mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { newRunId } from '../src/environments/labels.ts';
import { localPostgres } from '../src/environments/local/local-postgres.ts';
import { findPgBinaries } from '../src/postgres/pg-binaries.ts';
import { manifestPathFor, readManifest } from '../src/markers/dump-manifest.ts';
import { CHECKSUM_ALGORITHM } from '../src/markers/checksum-sql.ts';
import { dumpWithManifest } from '../src/markers/dump-with-manifest.ts';
import type { MarkerManifest } from '../src/model/marker.ts';
import { TYPED_CHECKSUM_ALGORITHM } from '../src/markers/typed-row-hash.ts';
import { BENCH_SHAPES, seedShape, type BenchShape } from './bench-shapes.ts';

/** A cached benchmark dump. */
export interface BenchDump {
  readonly shape: string;
  readonly rows: number;
  /** Custom-format dump with its manifest beside it (typed and portable checksums). */
  readonly path: string;
  /** The same dump, beside a manifest without typed checksums: as if production ran another major. */
  readonly portablePath: string;
  readonly manifest: MarkerManifest;
  readonly bytes: number;
}

/** Where cached dumps live (git-ignored). */
export const BENCH_DIR = resolve('.restore-drill', 'bench');

/**
 * The dump of a benchmark database of about `rows` rows in the given shape (default: fixtures/bench), built on
 * first use: seeded into a disposable local cluster, dumped with `dumpWithManifest`, and kept under
 * {@link BENCH_DIR} keyed by shape, size, SQL, checksum algorithms and pg_dump version, so a change to any of
 * them builds a fresh one.
 */
export async function benchDump(
  rows: number,
  log: (line: string) => void,
  shape: BenchShape = BENCH_SHAPES[0]!,
): Promise<BenchDump> {
  const pgDump = findPgBinaries({ tools: ['pg_dump'] });
  const key = createHash('sha256')
    .update([await shape.sql(rows), CHECKSUM_ALGORITHM, TYPED_CHECKSUM_ALGORITHM, pgDump.version].join('\n'))
    .digest('hex')
    .slice(0, 12);
  const dir = join(BENCH_DIR, `${shape.name}-${rows}-${key}`);
  const path = join(dir, 'bench.dump');
  const portablePath = join(dir, 'portable', 'bench.dump');
  if (!existsSync(manifestPathFor(portablePath))) {
    await rm(dir, { recursive: true, force: true });
    await mkdir(join(dir, 'portable'), { recursive: true });
    log(`building the benchmark database (${shape.name}): ${rows.toLocaleString('en')} rows (cached in ${dir})`);
    const started = performance.now();
    await using env = await localPostgres().start({ runId: newRunId(), drillName: 'bench build', log: () => {} });
    const admin = new pg.Client(env.connectionConfig('postgres'));
    await admin.connect();
    await admin.query('create database bench').finally(() => admin.end());
    const client = new pg.Client(env.connectionConfig('bench'));
    await client.connect();
    try {
      await seedShape(client, shape, rows);
    } finally {
      await client.end();
    }
    const seeded = performance.now();
    const config = env.connectionConfig('bench');
    const url = `postgres://${config.user}:${encodeURIComponent(String(config.password))}@${encodeURIComponent(String(config.host))}:${config.port}/bench?sslmode=disable`;
    const { manifest } = await dumpWithManifest(url, path);
    log(
      `  seeded in ${((seeded - started) / 1000).toFixed(1)} s, dumped with manifest in ${((performance.now() - seeded) / 1000).toFixed(1)} s`,
    );
    await link(path, portablePath);
    const portable: MarkerManifest = {
      ...manifest,
      tables: Object.fromEntries(
        Object.entries(manifest.tables).map(([name, { typed: _typed, ...table }]) => [name, table]),
      ),
    };
    await writeFile(manifestPathFor(portablePath), `${JSON.stringify(portable, null, 2)}\n`);
  }
  const manifest = (await readManifest(manifestPathFor(path)))!;
  return { shape: shape.name, rows, path, portablePath, manifest, bytes: (await stat(path)).size };
}
