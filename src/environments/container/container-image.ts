import type { ContainerRuntimeClient } from 'testcontainers';
import { ConfigError } from '../../errors.ts';
import { readDumpHeader } from '../../postgres/dump-header.ts';
import { isPgDump, type RecoveryPoint, type Restorable } from '../../model/recovery-point.ts';
import { isBaseBackup, isPgBackRest } from '../../model/physical-backup.ts';

/** The default image: the official PostgreSQL image of the recovery point's major version. */
export const DEFAULT_IMAGE = 'postgres:{major}';

/** Recovery point facts that name the production server's version, most specific first. */
const VERSION_FACTS = ['serverVersion', 'engineVersion', 'postgresVersion'] as const;

/** Which image the container runs, and why. */
export interface ImageChoice {
  readonly image: string;
  /** The PostgreSQL major it was chosen for (`15`, or `9.6` before 10); null for an image named outright. */
  readonly major: string | null;
  /** Where the version came from, for the log, e.g. `dump header: server 15.18`. */
  readonly basis: string;
}

/** What the environment knows about the recovery point when it starts. */
export interface ImageContext {
  readonly restorable?: Restorable;
  readonly recoveryPoint?: RecoveryPoint;
}

/**
 * Chooses the image that matches production: `template` (default {@link DEFAULT_IMAGE}) with `{major}`
 * replaced by the major version of the server the recovery point was taken from — read from a dump's
 * header, else from the recovery point's facts (`serverVersion`, an RDS snapshot's `engineVersion`). A
 * template without `{major}` is used as it is.
 *
 * @example
 * await chooseImage(undefined, { restorable }); // { image: 'postgres:17', major: '17', basis: 'dump header: server 17.2' }
 * await chooseImage('registry.example.com/postgres:{major}-bookworm', { recoveryPoint });
 */
export async function chooseImage(template: string | undefined, context: ImageContext): Promise<ImageChoice> {
  const wanted = template?.trim() || DEFAULT_IMAGE;
  if (!wanted.includes('{major}')) return { image: wanted, major: null, basis: 'named by the drill' };
  const version = await productionVersion(context);
  if (!version) {
    const what = context.recoveryPoint ? `recovery point ${context.recoveryPoint.id}` : 'recovery point';
    throw new ConfigError(
      `cannot tell which PostgreSQL version the ${what} comes from, so the image ${wanted} cannot be chosen`,
      "name the image, e.g. containerPostgres({ image: 'postgres:16' }) or `check --image postgres:16`",
    );
  }
  const major = majorOf(version.value);
  return { image: wanted.replaceAll('{major}', major), major, basis: `${version.basis} ${version.value}` };
}

/**
 * The major version as PostgreSQL's image tags name it: `15` for 15.18, `9.6` for 9.6.24.
 *
 * @example
 * majorOf('16.4'); // '16'
 */
export function majorOf(version: string): string {
  const match = /^(\d+)(?:\.(\d+))?/.exec(version.trim());
  if (!match) throw new ConfigError(`cannot read a PostgreSQL version from "${version}"`, 'name the image explicitly');
  const first = Number(match[1]);
  return first < 10 && match[2] !== undefined ? `${first}.${match[2]}` : String(first);
}

async function productionVersion(context: ImageContext): Promise<{ value: string; basis: string } | null> {
  const { restorable, recoveryPoint } = context;
  // A physical backup runs only on its own major version: the backup's control file says which.
  if (restorable && (isBaseBackup(restorable) || isPgBackRest(restorable)))
    return { value: String(restorable.major), basis: 'physical backup: PostgreSQL' };
  if (restorable && isPgDump(restorable)) {
    try {
      const header = await readDumpHeader(restorable.dump.path);
      if (header.serverVersion) return { value: header.serverVersion, basis: 'dump header: server' };
    } catch {
      // An unreadable header fails the restore with its own message; the facts may still name the version.
    }
  }
  for (const key of VERSION_FACTS) {
    const value = recoveryPoint?.facts[key];
    if (typeof value === 'string' && /^\d/.test(value)) return { value, basis: `recovery point ${key}` };
  }
  return null;
}

/**
 * Makes sure the engine has `image`: present already, or pulled now (testcontainers uses the Docker
 * credentials configured for the registry). Otherwise a {@link ConfigError} naming the image and the way out.
 *
 * @example
 * await ensureImage(await containerRuntime(), 'postgres:16', console.log);
 */
export async function ensureImage(
  client: ContainerRuntimeClient,
  image: string,
  log: (line: string) => void,
): Promise<void> {
  const { ImageName } = await import('testcontainers');
  let name;
  try {
    name = ImageName.fromString(image);
  } catch (error) {
    throw new ConfigError(
      `"${image}" is not a valid image name: ${(error as Error).message}`,
      'name an image like postgres:16 or registry.example.com/team/postgres:16.4',
    );
  }
  if (await client.image.exists(name)) return;
  log(`provision: image ${image} is not on the container engine; pulling it`);
  let reason = 'the registry did not provide it (wrong name or tag, or no access)';
  try {
    await client.image.pull(name, { force: false, platform: undefined });
  } catch (error) {
    reason = (error instanceof Error ? error.message : String(error))
      .split('\n')[0]!
      .replace(/^\(HTTP code \d+\)\s*\S+\s*-\s*/, '');
  }
  if (await client.image.exists(name)) return;
  throw new ConfigError(
    `image ${image} is not on the container engine and could not be pulled: ${reason}`,
    `pull or load it where a registry is reachable (docker pull ${image}), name another image (containerPostgres({ image }) or \`check --image\`), or restore into the local environment`,
  );
}
