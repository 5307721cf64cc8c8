import { readFile } from 'node:fs/promises';
import { ConfigError } from '../errors.ts';

/** How a generated drill file names its database's tags, in its header: `// tags: "tier-1", "eu-west-1"`. */
const TAGS_PREFIX = '// tags: ';

/**
 * The header line of a generated drill file that carries the database's tags (from the inventory).
 *
 * @example
 * renderTagsLine(['tier-1', 'eu-west-1']); // '// tags: "tier-1", "eu-west-1"'
 */
export function renderTagsLine(tags: readonly string[], quote: (value: string) => string): string {
  return `${TAGS_PREFIX}${tags.map(quote).join(', ')}`;
}

/**
 * The tags a drill file's header carries (a generated file's `// tags:` line; a hand-written drill may add
 * one too); none when it has no such line.
 *
 * @example
 * drillTags('// restore-drill:generated\n// tags: "tier-1"\n…'); // ['tier-1']
 */
export function drillTags(text: string): string[] {
  for (const line of text.split('\n', 20)) {
    if (!line.startsWith(TAGS_PREFIX)) continue;
    try {
      const tags = JSON.parse(`[${line.slice(TAGS_PREFIX.length)}]`) as unknown[];
      return tags.filter((t): t is string => typeof t === 'string');
    } catch {
      return [];
    }
  }
  return [];
}

/**
 * Whether `carried` (an item's tags) has at least one of `tags`: the one matching rule of `--tag`.
 *
 * @example
 * carriesAnyTag(['tier-1', 'eu'], ['tier-1', 'tier-2']); // true
 */
export function carriesAnyTag(carried: readonly string[], tags: readonly string[]): boolean {
  return carried.some((tag) => tags.includes(tag));
}

/**
 * The items that carry at least one of `tags`: what `run --tag` and `generate --tag` select. None is a usage
 * error: a selection that runs nothing would look like a fleet that passed.
 *
 * @example
 * pickTagged(fleet.databases, (db) => db.tags ?? [], ['tier-1'], 'database'); // the tier-1 databases
 */
export function pickTagged<T>(
  items: readonly T[],
  tagsOf: (item: T) => readonly string[],
  tags: readonly string[],
  what: string,
): T[] {
  const selected = items.filter((item) => carriesAnyTag(tagsOf(item), tags));
  if (selected.length === 0) {
    throw new ConfigError(
      `no ${what} carries the tag${tags.length > 1 ? 's' : ''} ${tags.join(', ')} (of ${items.length} ${what}(s))`,
      'tags come from the inventory: check its spelling there (and run `restore-drill generate` again)',
    );
  }
  return selected;
}

/**
 * The drill files that carry at least one of `tags` in their header (`run --tag`); see {@link pickTagged}.
 *
 * @example
 * await selectByTags(['drills/fleet/billing.drill.ts', 'drills/fleet/orders.drill.ts'], ['tier-1']);
 */
export async function selectByTags(files: readonly string[], tags: readonly string[]): Promise<string[]> {
  const carried = new Map<string, string[]>();
  for (const file of files) carried.set(file, drillTags(await readFile(file, 'utf8')));
  return pickTagged(files, (file) => carried.get(file) ?? [], tags, 'drill file');
}
