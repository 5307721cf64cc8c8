import { join } from 'node:path';
import type { Command } from 'commander';
import { carriesAnyTag } from '../fleet/drill-tags.ts';
import { generateDrills } from '../fleet/generate-drills.ts';
import { loadInventory } from '../fleet/inventory.ts';
import { EXIT } from './exit-codes.ts';

/**
 * `restore-drill generate --inventory fleet.yaml [--out drills/fleet] [--check] [--tag T…]`: one drill file per
 * database of the inventory (see {@link generateDrills}); with `--check`, exit 1 when they are out of date; with `--tag`, only the databases carrying one of the tags.
 */
export function registerGenerateCommand(program: Command, setExit: (code: number) => void): Command {
  return program
    .command('generate')
    .description('generate one drill file per database of a fleet inventory (YAML, JSON, or a defineFleet() module)')
    .requiredOption(
      '--inventory <file>',
      'the inventory: fleet.yaml, fleet.json, or fleet.ts exporting defineFleet({ … })',
    )
    .option(
      '--out <dir>',
      'folder of the generated drills (hand-written drills there are left alone)',
      join('drills', 'fleet'),
    )
    .option('--import-from <module>', 'where generated files import restore-drill from', 'restore-drill')
    .option('--check', 'write nothing; exit 1 when the generated files differ from the inventory')
    .option(
      '--tag <tag...>',
      "only the databases that carry one of these tags (as run --tag); the other databases' files are left as they are",
    )
    .action(async (opts: { inventory: string; out: string; importFrom: string; check?: boolean; tag?: string[] }) => {
      const fleet = await loadInventory(opts.inventory);
      const files = await generateDrills(fleet, {
        outDir: opts.out,
        importFrom: opts.importFrom,
        inventory: opts.inventory,
        check: opts.check,
        tags: opts.tag,
      });
      const changed = files.filter((f) => f.action === 'created' || f.action === 'updated' || f.action === 'removed');
      for (const f of files)
        if (f.action !== 'unchanged' && f.action !== 'skipped')
          process.stdout.write(
            `${(opts.check && f.action !== 'kept' ? `would be ${f.action}` : f.action).padEnd(10)} ${join(opts.out, f.file)}\n`,
          );
      const count = (action: string) => files.filter((f) => f.action === action && f.file.endsWith('.drill.ts')).length;
      const tags = opts.tag;
      const databases = tags
        ? `${fleet.databases.filter((db) => carriesAnyTag(db.tags ?? [], tags)).length} of ${fleet.databases.length} database(s) tagged ${tags.join(', ')}`
        : `${fleet.databases.length} database(s)`;
      process.stdout.write(
        `${databases}: ${count('created')} created, ${count('updated')} updated, ${count('removed')} removed, ${count('unchanged')} unchanged${opts.check ? ' (checked, nothing written)' : ''}\n`,
      );
      setExit(opts.check && changed.length > 0 ? EXIT.failed : EXIT.ok);
    });
}
