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
 * The drill files that carry at least one of `tags` (`run --tag`). None is a usage error: a selection that
 * runs nothing would look like a fleet that passed.
 *
 * @example
 * await selectByTags(['drills/fleet/billing.drill.ts', 'drills/fleet/orders.drill.ts'], ['tier-1']);
 */
export async function selectByTags(files: readonly string[], tags: readonly string[]): Promise<string[]> {
  const selected: string[] = [];
  for (const file of files) {
    const carried = drillTags(await readFile(file, 'utf8'));
    if (carried.some((tag) => tags.includes(tag))) selected.push(file);
  }
  if (selected.length === 0) {
    throw new ConfigError(
      `no drill file carries the tag${tags.length > 1 ? 's' : ''} ${tags.join(', ')} (of ${files.length} drill file(s))`,
      'tags come from the inventory: check its spelling there and run `restore-drill generate` again',
    );
  }
  return selected;
}
