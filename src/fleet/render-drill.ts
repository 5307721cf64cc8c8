import type { FleetDatabase, FleetEnvironment, FleetPolicy, FleetSource } from './inventory-schema.ts';
import { renderTagsLine } from './drill-tags.ts';

/** The first line of every generated drill file: how `generate` knows a file is its own to replace or remove. */
export const GENERATED_MARK = '// restore-drill:generated';

/** The shared body every generated drill imports (not a `*.drill.ts`: Vitest does not run it on its own). */
export const BODY_FILE = 'fleet.body.ts';

/** Where generated files import restore-drill from, and what they say made them. */
export interface RenderOptions {
  /** Module specifier of restore-drill's API; default `restore-drill`. */
  readonly importFrom: string;
  /** The inventory as named on the command line, for the header. */
  readonly inventory: string;
}

/**
 * A value as a JSON literal (valid TypeScript) with U+2028/U+2029 escaped too (JSON leaves them raw, and
 * they end a line comment), so no name or path can end a string or a comment early.
 *
 * @example
 * quoted('a\u2028b'); // '"a\\u2028b"'
 */
export function quoted(value: unknown): string {
  return JSON.stringify(value)
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}
const lit = quoted;

function call(fn: string, options: Record<string, unknown>, imports: Set<string>): string {
  imports.add(fn);
  const fields = Object.entries(options).filter(([, v]) => v !== undefined);
  return fields.length === 0 ? `${fn}()` : `${fn}({ ${fields.map(([k, v]) => `${k}: ${lit(v)}`).join(', ')} })`;
}

function source(s: FleetSource, imports: Set<string>): string {
  switch (s.kind) {
    case 'file':
      imports.add('fileSource');
      return `fileSource(${lit(s.path)})`;
    case 's3':
      imports.add('s3DumpSource');
      return `s3DumpSource(${lit(s.uri)})`;
    case 'rds-snapshot':
      return call(
        'rdsSnapshotSource',
        { dbInstanceIdentifier: s.dbInstanceIdentifier, dbClusterIdentifier: s.dbClusterIdentifier, region: s.region },
        imports,
      );
  }
}

function environment(e: FleetEnvironment, imports: Set<string>): string {
  switch (e.kind) {
    case 'local':
      return call('localPostgres', {}, imports);
    case 'container':
      return call('containerPostgres', { image: e.image }, imports);
    case 'rds':
      return call(
        'rdsInstance',
        { instanceClass: e.instanceClass, subnetGroup: e.subnetGroup, securityGroupIds: e.securityGroupIds },
        imports,
      );
  }
}

function policy(p: FleetPolicy, imports: Set<string>): string {
  const { kind, ...options } = p;
  return call(`${kind}Policy`, options, imports);
}

/**
 * The drill file of one database: its options as restore-drill calls, handed to the fleet's shared body.
 * Deterministic (same database, same text), so regenerating changes only what the inventory changed.
 *
 * @example
 * renderDrillFile(fleet.databases[0], { importFrom: 'restore-drill', inventory: 'fleet.yaml' });
 */
export function renderDrillFile(db: FleetDatabase, options: RenderOptions): string {
  const imports = new Set<string>();
  const lines = [`  source: ${source(db.source, imports)},`];
  if (db.environment) lines.push(`  environment: ${environment(db.environment, imports)},`);
  if (db.objectives) lines.push(`  objectives: ${lit(db.objectives)},`);
  if (db.restore === false) lines.push('  restore: false,');
  if (db.policies?.length) lines.push(`  policies: [${db.policies.map((p) => policy(p, imports)).join(', ')}],`);
  if (db.controls?.length) lines.push(`  controls: ${lit(db.controls)},`);
  if (db.cadence) lines.push(`  cadence: ${lit(db.cadence)},`);
  return [
    GENERATED_MARK,
    `// Database ${lit(db.name)} of ${lit(options.inventory)}: edit the inventory and run \`restore-drill generate\` again;`,
    '// this file is rewritten then. The checks every database gets are in ./fleet.body.ts.',
    ...(db.tags?.length ? [renderTagsLine(db.tags, lit)] : []),
    `import { ${[...imports].sort().join(', ')} } from ${lit(options.importFrom)};`,
    `import { fleetDrill } from './${BODY_FILE}';`,
    '',
    `fleetDrill(${lit(db.name)}, {`,
    ...lines,
    '});',
    '',
  ].join('\n');
}

/**
 * The shared body, written once and then the user's: `generate` never overwrites it.
 *
 * @example
 * renderBodyFile({ importFrom: 'restore-drill', inventory: 'fleet.yaml' });
 */
export function renderBodyFile(options: RenderOptions): string {
  return `// The checks every database of the fleet gets, beside restore-drill's own (every table against the
// markers, objects, sequences). Written once by \`restore-drill generate\`; yours to edit: it is never
// overwritten. A database that needs more gets a hand-written drill file beside the generated ones.
import { expect } from 'vitest';
import { drill, type DrillOptions } from ${lit(options.importFrom)};

/** Declares the drill of one database of the fleet (called by each generated *.drill.ts). */
export function fleetDrill(name: string, options: DrillOptions): void {
  drill(name, options, async ({ db, check }) => {
    await check('the restored database has user tables', async () => {
      const { rows } = await db.query(
        "select count(*)::int as n from information_schema.tables where table_schema not in ('pg_catalog', 'information_schema', 'restore_drill')",
      );
      expect(rows[0].n).toBeGreaterThan(0);
    });
  });
}
`;
}
