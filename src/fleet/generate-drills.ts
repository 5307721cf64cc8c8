import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError } from '../errors.ts';
import { reportSlug } from '../evidence/report-files.ts';
import { carriesAnyTag, drillTags, pickTagged } from './drill-tags.ts';
import type { Fleet } from './inventory.ts';
import { BODY_FILE, GENERATED_MARK, renderBodyFile, renderDrillFile, type RenderOptions } from './render-drill.ts';

/**
 * What happened to one file. `kept`: the shared body (the user's once written) or a hand-written drill.
 * `skipped`: with `tags`, a generated file of a database the tags do not select, left as it was.
 */
export type GeneratedAction = 'created' | 'updated' | 'unchanged' | 'removed' | 'kept' | 'skipped';

/** One file of the fleet folder and what `generate` did (or, with `check`, would do) to it. */
export interface GeneratedFile {
  readonly file: string;
  readonly action: GeneratedAction;
}

/** Options of {@link generateDrills}. */
export interface GenerateOptions extends Partial<RenderOptions> {
  /** The folder of the generated drills; default `drills/fleet`. */
  readonly outDir?: string;
  /** Only compare: write and remove nothing (for a CI step that fails when the files are out of date). */
  readonly check?: boolean;
  /**
   * Only the databases carrying one of these tags (`generate --tag`, as `run --tag`): their files are written,
   * and a generated file whose database left the inventory is removed only when its header carries one of
   * them; every other file is left as it is. A tag no database carries is a usage error.
   */
  readonly tags?: readonly string[];
}

/**
 * Writes one `<name>.drill.ts` per database of the fleet into `outDir`, plus the shared body once. A file
 * whose text would not change is not touched; a generated file whose database left the inventory is
 * removed; a file without the generated mark (a hand-written drill beside them) is never touched. With
 * `tags`, only the databases carrying one of them.
 *
 * @example
 * const files = await generateDrills(await loadInventory('fleet.yaml'), { outDir: 'drills/fleet' });
 * files.filter((f) => f.action !== 'unchanged'); // what the inventory change did
 */
export async function generateDrills(fleet: Fleet, options: GenerateOptions = {}): Promise<GeneratedFile[]> {
  const outDir = options.outDir ?? join('drills', 'fleet');
  const render: RenderOptions = {
    importFrom: options.importFrom ?? 'restore-drill',
    inventory: options.inventory ?? 'the inventory',
  };
  const fileOf = (name: string) => `${reportSlug(name)}.drill.ts`;
  const tags = options.tags;
  const selected = tags ? pickTagged(fleet.databases, (db) => db.tags ?? [], tags, 'database') : fleet.databases;
  const wanted = new Map(selected.map((db) => [fileOf(db.name), renderDrillFile(db, render)]));
  // With tags, the files of the inventory's other databases are not this run's to touch.
  const others = new Set(fleet.databases.map((db) => fileOf(db.name)).filter((file) => !wanted.has(file)));
  if (!options.check) await mkdir(outDir, { recursive: true });
  const present = existsSync(outDir) ? (await readdir(outDir)).filter((f) => f.endsWith('.drill.ts')) : [];
  const result: GeneratedFile[] = [];
  for (const file of present) {
    const text = await readFile(join(outDir, file), 'utf8');
    const generated = text.startsWith(GENERATED_MARK);
    const next = wanted.get(file);
    if (!generated) {
      // A hand-written drill with the name a database's file would take: refuse rather than overwrite it.
      if (next !== undefined)
        throw new ConfigError(
          `${join(outDir, file)} is hand-written, and a database of the inventory would be generated there`,
          'rename the hand-written drill or the database',
        );
      result.push({ file, action: 'kept' });
      continue;
    }
    if (next === undefined && (others.has(file) || (tags && !carriesAnyTag(drillTags(text), tags)))) {
      result.push({ file, action: 'skipped' });
    } else if (next === undefined) {
      if (!options.check) await rm(join(outDir, file));
      result.push({ file, action: 'removed' });
    } else if (next === text) {
      result.push({ file, action: 'unchanged' });
    } else {
      if (!options.check) await writeFile(join(outDir, file), next);
      result.push({ file, action: 'updated' });
    }
    wanted.delete(file);
  }
  for (const [file, text] of wanted) {
    if (!options.check) await writeFile(join(outDir, file), text);
    result.push({ file, action: 'created' });
  }
  const body = join(outDir, BODY_FILE);
  if (existsSync(body)) {
    result.push({ file: BODY_FILE, action: 'kept' });
  } else {
    if (!options.check) await writeFile(body, renderBodyFile(render));
    result.push({ file: BODY_FILE, action: 'created' });
  }
  return result.sort((a, b) => a.file.localeCompare(b.file));
}
