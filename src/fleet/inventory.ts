import { readFile } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import type { z } from 'zod';
import { ConfigError } from '../errors.ts';
import { reportSlug } from '../evidence/report-files.ts';
import { quoted } from './render-drill.ts';
import {
  fleetDatabaseSchema,
  fleetInventorySchema,
  type FleetDatabase,
  type FleetInventoryInput,
} from './inventory-schema.ts';

/** A checked inventory: every database with the defaults applied, in the inventory's order. */
export interface Fleet {
  readonly databases: readonly FleetDatabase[];
}

/**
 * Declares a fleet in TypeScript: the same shape as `fleet.yaml`, checked the same way (a mistake throws a
 * one-line `ConfigError` naming the database and the field). `restore-drill generate --inventory fleet.ts`
 * reads its default export.
 *
 * @example
 * // fleet.ts
 * import { defineFleet } from 'restore-drill';
 * export default defineFleet({
 *   defaults: { objectives: { rto: '4h', rpo: '24h' }, policies: [{ kind: 'freshness', maxAge: '26h' }] },
 *   databases: [
 *     { name: 'billing', source: { kind: 's3', uri: 's3://acme-backups/billing/' }, tags: ['tier-1'] },
 *     { name: 'orders', source: { kind: 'rds-snapshot', dbInstanceIdentifier: 'orders-prod' }, environment: { kind: 'rds' } },
 *   ],
 * });
 */
export function defineFleet(input: FleetInventoryInput): Fleet {
  return checkInventory(input, 'defineFleet()');
}

/**
 * Reads an inventory: YAML or JSON (`fleet.yaml`, `fleet.json`), or a TypeScript/JavaScript module whose
 * default export is a {@link defineFleet} result or its argument.
 *
 * @example
 * const fleet = await loadInventory('fleet.yaml');
 */
export async function loadInventory(path: string): Promise<Fleet> {
  const ext = extname(path).toLowerCase();
  if (['.ts', '.mts', '.js', '.mjs'].includes(ext)) return checkInventory(await importModule(path), path);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ConfigError(
      `cannot read the inventory ${path}: ${(error as { code?: string }).code ?? (error as Error).message}`,
      'pass --inventory with the path of your fleet.yaml',
    );
  }
  let value: unknown;
  try {
    value = parseYaml(text, { uniqueKeys: true });
  } catch (error) {
    const where = error instanceof YAMLParseError && error.linePos ? `:${error.linePos[0].line}` : '';
    throw new ConfigError(
      `${path}${where}: not valid YAML: ${(error as Error).message.split('\n')[0]}`,
      'fix the file; JSON is valid YAML too',
    );
  }
  return checkInventory(value, path);
}

/** Checks an inventory value and applies the defaults; `where` names it in errors. */
export function checkInventory(value: unknown, where: string): Fleet {
  const top = fleetInventorySchema.safeParse(value);
  if (!top.success)
    throw new ConfigError(
      `${where}: ${describeIssue(top.error.issues[0]!, value)}`,
      'an inventory is { defaults?: {…}, databases: [{ name, source, … }] }',
    );
  const defaults = top.data.defaults ?? {};
  const databases: FleetDatabase[] = [];
  const byName = new Map<string, number>();
  const bySlug = new Map<string, string>();
  for (const [index, raw] of top.data.databases.entries()) {
    const label = `databases[${index}]${typeof (raw as { name?: unknown })?.name === 'string' ? ` ${quoted((raw as { name: string }).name)}` : ''}`;
    const merged = typeof raw === 'object' && raw !== null && !Array.isArray(raw) ? { ...defaults, ...raw } : raw;
    const parsed = fleetDatabaseSchema.safeParse(merged);
    if (!parsed.success) {
      throw new ConfigError(
        `${where}: ${label}: ${describeIssue(parsed.error.issues[0]!, merged)}`,
        'fix that entry (defaults apply to every entry that leaves a field out)',
      );
    }
    const database = parsed.data;
    if (
      database.source.kind === 'rds-snapshot' &&
      !database.source.dbInstanceIdentifier === !database.source.dbClusterIdentifier
    ) {
      throw new ConfigError(
        `${where}: ${label}: source needs exactly one of dbInstanceIdentifier and dbClusterIdentifier`,
        'name the RDS instance or the Aurora cluster whose snapshots to restore',
      );
    }
    // What the drill itself would refuse only when it runs, said now for the whole fleet.
    if (database.restore === false && !database.policies?.length) {
      throw new ConfigError(
        `${where}: ${label}: restore: false with no policies checks nothing`,
        'add policies (e.g. { kind: freshness, maxAge: 26h }) or remove restore: false',
      );
    }
    if (database.restore === false && database.objectives?.rto) {
      throw new ConfigError(
        `${where}: ${label}: objectives.rto cannot be measured with restore: false`,
        'remove rto for this database, or remove restore: false',
      );
    }
    const earlier = byName.get(database.name);
    if (earlier !== undefined) {
      throw new ConfigError(
        `${where}: ${label}: duplicate name (databases[${earlier}] has it too)`,
        'every database needs its own name: it names its drill, its file and its reports',
      );
    }
    // Two names with one slug would write one drill file and one report name for both.
    const slug = reportSlug(database.name);
    const sameSlug = bySlug.get(slug);
    if (sameSlug !== undefined) {
      throw new ConfigError(
        `${where}: ${label}: its file name ${slug}.drill.ts is the same as "${sameSlug}"'s`,
        'rename one of them so their names differ in letters or digits',
      );
    }
    byName.set(database.name, index);
    bySlug.set(slug, database.name);
    databases.push(database);
  }
  return { databases };
}

function describeIssue(issue: z.core.$ZodIssue, input: unknown): string {
  const field = issue.path
    .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
    .join('')
    .replace(/^\./, '');
  let what: string = issue.message;
  if (issue.code === 'invalid_union' && 'discriminator' in issue && 'options' in issue) {
    const given = valueAt(input, issue.path);
    what = `unknown kind${given === undefined ? '' : ` ${quoted(given)}`} (known: ${(issue.options as unknown[]).join(', ')})`;
  } else if (issue.code === 'unrecognized_keys') {
    what = `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.join(', ')}`;
    return field ? `${field}: ${what}` : what;
  } else if (issue.code === 'invalid_type' && /received undefined/.test(issue.message)) {
    what = 'missing';
  }
  return field ? `${field}: ${what}` : what;
}

async function importModule(path: string): Promise<unknown> {
  const url = pathToFileURL(resolve(path)).href;
  try {
    if (/\.m?ts$/.test(path)) {
      // TypeScript needs a loader under Node 20; tsx is the one Vitest users already have.
      const { tsImport } = (await import('tsx/esm/api').catch(() => {
        throw new ConfigError(
          `cannot load ${path}: reading a TypeScript inventory needs tsx`,
          'npm install --save-dev tsx, or write the inventory as fleet.yaml',
        );
      })) as { tsImport: (specifier: string, parent: string) => Promise<{ default?: unknown }> };
      return unwrap((await tsImport(url, import.meta.url)).default);
    }
    return unwrap(((await import(url)) as { default?: unknown }).default);
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError(
      `cannot load ${path}: ${(error as Error).message.split('\n')[0]}`,
      'fix the module; its default export is the defineFleet({ … }) result',
    );
  }
}

/** A module exports either `defineFleet(...)`'s result (defaults applied, checked again harmlessly) or the plain inventory. */
function unwrap(exported: unknown): unknown {
  // A .ts file outside a `"type": "module"` package is loaded as CommonJS: its default export is one level down.
  const nested = exported as { databases?: unknown; default?: unknown } | undefined;
  const value =
    nested && typeof nested === 'object' && !('databases' in nested) && 'default' in nested ? nested.default : exported;
  if (value === undefined)
    throw new ConfigError(
      'the inventory module has no default export',
      'export default defineFleet({ databases: [ … ] })',
    );
  return value;
}

function valueAt(value: unknown, path: readonly PropertyKey[]): unknown {
  let at = value;
  for (const key of path)
    at = typeof at === 'object' && at !== null ? (at as Record<PropertyKey, unknown>)[key] : undefined;
  return at;
}
