import pg from 'pg';
import {
  OBJECT_CATEGORIES,
  OBJECT_FINGERPRINT_ALGORITHM,
  objectFingerprintSchema,
  type ObjectAttributes,
  type ObjectFingerprint,
} from '../model/object-fingerprint.ts';
import { takeObjectFingerprint } from '../markers/object-fingerprint.ts';
import { standInRoles } from '../postgres/stand-in-roles.ts';
import type { CheckResult, NotVerified } from '../model/report.ts';
import type { Marker } from '../model/marker.ts';

/**
 * Differences a drill declares on purpose, because its dumps are made that way: `privileges` for
 * `pg_dump --no-acl` (or `--no-privileges`), `owners` for `pg_dump --no-owner`. What is ignored is listed
 * in the report as not verified.
 */
export interface DumpedWithout {
  readonly privileges?: boolean;
  readonly owners?: boolean;
}

/** Options of {@link compareObjects}. */
export interface CompareObjectsOptions {
  /** Names the marker in every check name: `manifest` or `marker #<id>`. */
  readonly label: string;
  /**
   * True for a manifest (taken in the dump's own snapshot): an object in the restored database that the
   * fingerprint does not have is a difference too. False for an in-database marker, taken before the
   * backup: objects made after it are not compared.
   */
  readonly exact: boolean;
  readonly dumpedWithout?: DumpedWithout;
}

/** What {@link compareObjects} found: checks for the report, and what it could not verify. */
export interface ObjectComparison {
  readonly checks: CheckResult[];
  readonly notVerified: NotVerified[];
}

/** Cluster-wide things a database dump cannot carry: never compared, always said so. */
export const CLUSTER_WIDE_NOT_VERIFIED: NotVerified = {
  kind: 'cluster',
  name: 'roles, tablespaces',
  reason: 'cluster-wide',
  detail:
    'roles, role memberships and role settings, tablespaces, and database-level settings and privileges: cluster-wide, a database dump does not carry them, and they were not compared',
};

/** Object kinds rdobj/1 does not fingerprint. */
export const KINDS_NOT_FINGERPRINTED: NotVerified = {
  kind: 'objects',
  name: 'operators, operator classes and families, casts, text search objects, conversions, foreign data wrappers, servers and user mappings, procedural languages outside extensions, transforms, access methods, security labels, subscriptions',
  reason: 'not-fingerprinted',
  detail: 'object kinds rdobj/1 does not fingerprint: their definitions were not compared',
};

/** Restored fingerprints, one per client: a drill comparing a manifest and a marker reads the catalogs once. */
const restoredFingerprints = new WeakMap<pg.ClientBase, Promise<ObjectFingerprint>>();

/** Object comparisons on a connection of their own (see {@link startObjectComparison}). */
export interface ObjectComparer extends AsyncDisposable {
  /** {@link compareObjects} on this comparer's connection; the restored fingerprint is read once. */
  compare(marker: Marker, options: CompareObjectsOptions): Promise<ObjectComparison>;
  close(): Promise<void>;
}

/**
 * Opens a connection of its own to the restored database for {@link compareObjects}, so the object
 * comparison runs beside the checksums (it waits on catalog round trips, they on CPU) instead of after them.
 *
 * @example
 * await using objects = startObjectComparison(env.connectionConfig());
 * const [sums, found] = await Promise.all([compareWithMarker(config, manifest, { label }), objects.compare(manifest, { label, exact: true })]);
 */
export function startObjectComparison(config: pg.ClientConfig): ObjectComparer {
  const client = new pg.Client(config);
  // Teardown may stop the server under an abandoned comparison: that must not crash the process.
  client.on('error', () => {});
  let connected: Promise<void> | undefined;
  const close = async () => {
    if (connected) await connected.then(() => client.end()).catch(() => {});
  };
  return {
    async compare(marker, options) {
      connected ??= client.connect().then(() => undefined);
      await connected;
      return compareObjects(client, marker, options);
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

/**
 * Compares the objects of a restored database with the fingerprint of a marker or manifest: one summary
 * check per kind of object (`objects: functions (manifest)`), and one failed check per object that differs, named
 * as PostgreSQL names it and saying what differs (`trigger events_keep_note on public.events (manifest)`:
 * "trigger events_keep_note on public.events is missing"). A marker without a fingerprint (taken before
 * rdobj/1) yields no check and a `notVerified` line. `client` must be a superuser's on the restored copy
 * (large objects are read). Never throws: a difference, or catalogs that cannot be read, is a failed check.
 *
 * @example
 * const { checks, notVerified } = await compareObjects(client, manifest, { label: 'manifest', exact: true });
 */
export async function compareObjects(
  client: pg.ClientBase,
  marker: Marker,
  options: CompareObjectsOptions,
): Promise<ObjectComparison> {
  const { label } = options;
  const notVerified: NotVerified[] = [CLUSTER_WIDE_NOT_VERIFIED, KINDS_NOT_FINGERPRINTED];
  const objects = (reason: NotVerified['reason'], name: string, detail: string): NotVerified => ({
    kind: 'objects',
    name,
    reason,
    detail,
  });
  let stored: ObjectFingerprint | { problem: string } | undefined;
  let roles: string[];
  try {
    stored = marker.objects ?? (marker.id !== undefined ? await readMarkerObjects(client, marker.id) : undefined);
    roles = await standInRoles(client);
  } catch (error) {
    stored = { problem: (error as Error).message.split('\n')[0] ?? String(error) };
    roles = [];
  }
  if (roles.length > 0) {
    notVerified.push({
      kind: 'cluster',
      name: `roles ${roles.join(', ')}`,
      reason: 'stand-in',
      detail:
        'they did not exist in the environment, so NOLOGIN stand-ins were created for the restore to bring back their grants and ownerships; the roles themselves are not verified',
    });
  }
  if (stored === undefined) {
    notVerified.push(
      objects(
        'not-fingerprinted',
        `objects of the ${label} (functions, views, triggers, row-level security, privileges, types, extensions, sequences, large objects)`,
        'it was taken before restore-drill fingerprinted objects: their definitions were not compared',
      ),
    );
    return { checks: [], notVerified };
  }
  if ('problem' in stored) {
    return {
      checks: [
        {
          name: `objects (${label})`,
          status: 'failed',
          expected: OBJECT_FINGERPRINT_ALGORITHM,
          actual: null,
          detail: `the ${label}'s object fingerprint is not readable: ${stored.problem}`,
        },
      ],
      notVerified,
    };
  }
  if (stored.algorithm !== OBJECT_FINGERPRINT_ALGORITHM) {
    notVerified.push(
      objects(
        'not-fingerprinted',
        `objects of the ${label}`,
        `fingerprinted with ${stored.algorithm}, which this restore-drill cannot compare`,
      ),
    );
    return {
      checks: [
        {
          name: `objects (${label})`,
          status: 'failed',
          expected: OBJECT_FINGERPRINT_ALGORITHM,
          actual: stored.algorithm,
          detail: `the ${label} was fingerprinted with ${stored.algorithm}, this restore-drill compares ${OBJECT_FINGERPRINT_ALGORITHM}: verify with the restore-drill version that took it`,
        },
      ],
      notVerified,
    };
  }
  for (const line of stored.unreadable ?? [])
    notVerified.push(objects('unreadable', `${line} (${label})`, 'the marking role could not read it in production'));
  if (options.dumpedWithout?.privileges)
    notVerified.push(
      objects(
        'declared-missing',
        `privileges and default privileges (${label})`,
        'the drill declares its dumps are made without them (pg_dump --no-acl)',
      ),
    );
  if (options.dumpedWithout?.owners)
    notVerified.push(
      objects(
        'declared-missing',
        `object owners (${label})`,
        'the drill declares its dumps are made without them (pg_dump --no-owner)',
      ),
    );
  let restored = restoredFingerprints.get(client);
  if (!restored) {
    restored = takeObjectFingerprint(client);
    restoredFingerprints.set(client, restored);
  }
  try {
    return { checks: diffFingerprints(stored, await restored, options), notVerified };
  } catch (error) {
    // The restored catalogs could not be read: every object is unverified, which must fail, not pass.
    const detail = `could not read the objects of the restored database: ${(error as Error).message.split('\n')[0]}`;
    return {
      checks: [
        { name: `objects (${label})`, status: 'failed', expected: OBJECT_FINGERPRINT_ALGORITHM, actual: null, detail },
      ],
      notVerified,
    };
  }
}

/**
 * The fingerprint recorded with an in-database marker (`restore_drill.markers.objects`), read from the
 * restored copy: undefined when the column or value is absent (a marker taken before rdobj/1), the problem
 * when it is not a valid fingerprint (restored data is untrusted input).
 */
export async function readMarkerObjects(
  client: pg.ClientBase,
  markerId: string,
): Promise<ObjectFingerprint | { problem: string } | undefined> {
  // to_jsonb of the whole row: works whether or not the markers table has the objects column yet.
  const { rows } = await client.query<{ objects: unknown }>(
    "select to_jsonb(m) -> 'objects' as objects from restore_drill.markers m where m.id = $1::bigint",
    [markerId],
  );
  const value = rows[0]?.objects;
  if (value === undefined || value === null) return undefined;
  const parsed = objectFingerprintSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { problem: `${issue?.message ?? 'invalid'}${issue?.path.length ? ` at ${issue.path.join('.')}` : ''}` };
  }
  return parsed.data;
}

/** Names of attributes in check details. */
const ATTRIBUTE_WORDS: Readonly<Record<string, string>> = {
  definition: 'definition',
  acl: 'privileges',
  'column acl': 'column privileges',
  owner: 'owner',
  enabled: 'enabled state',
  rls: 'row-level security',
  version: 'version',
  schema: 'schema',
  content: 'content',
  text: 'text',
  populated: 'populated state',
  'owned by': 'owning column',
};

/** How many differing objects of one kind get a check of their own; the summary check counts them all. */
const MAX_OBJECT_CHECKS = 50;

/** pg_trigger.tgenabled / pg_rewrite.ev_enabled / pg_event_trigger.evtenabled, in words. */
const ENABLED_WORDS: Readonly<Record<string, string>> = {
  O: 'enabled',
  D: 'disabled',
  R: 'enabled on replicas only',
  A: 'enabled always',
};

/**
 * The checks for a fingerprint against the restored one (see {@link compareObjects}); pure, for tests.
 */
export function diffFingerprints(
  expected: ObjectFingerprint,
  actual: ObjectFingerprint,
  options: CompareObjectsOptions,
): CheckResult[] {
  const { label } = options;
  const ignored = new Set<string>([
    ...(options.dumpedWithout?.privileges ? ['acl', 'column acl'] : []),
    ...(options.dumpedWithout?.owners ? ['owner'] : []),
  ]);
  const versionNote =
    expected.serverMajor !== actual.serverMajor
      ? ` (fingerprinted on PostgreSQL ${expected.serverMajor}, restored on ${actual.serverMajor}: PostgreSQL may print a definition differently)`
      : '';
  const markerNote = options.exact ? '' : ' (or it changed after the marker was taken)';
  const checks: CheckResult[] = [];
  for (const category of OBJECT_CATEGORIES) {
    if (category === 'default privileges' && options.dumpedWithout?.privileges) continue;
    const want = expected.objects[category] ?? {};
    const have = actual.objects[category] ?? {};
    const differences: CheckResult[] = [];
    let matching = 0;
    for (const [name, attributes] of Object.entries(want)) {
      const found = have[name];
      if (!found) {
        differences.push({
          name: `${name} (${label})`,
          status: 'failed',
          expected: 'present',
          actual: 'missing',
          detail: `${name} is missing${markerNote}`,
        });
        continue;
      }
      const problems = diffAttributes(attributes, found, ignored, options.dumpedWithout?.owners ?? false).map(
        ({ attribute, want: a, have: b }) => {
          if (attribute === 'content' && b === null)
            return `${name}: content could not be read in the restored database (not a superuser?), so it is not verified`;
          const word = ATTRIBUTE_WORDS[attribute] ?? attribute;
          return `${name}: ${word} ${word.endsWith('privileges') ? 'differ' : 'differs'}${shown(attribute, a, b)}${attribute === 'definition' ? versionNote : ''}`;
        },
      );
      if (problems.length === 0) matching += 1;
      else
        differences.push({
          name: `${name} (${label})`,
          status: 'failed',
          expected: 'as fingerprinted',
          actual: 'different',
          detail: `${problems.join('; ')}${markerNote}`,
        });
    }
    const extra = Object.keys(have).filter((name) => !(name in want));
    if (options.exact) {
      for (const name of extra) {
        differences.push({
          name: `${name} (${label})`,
          status: 'failed',
          expected: 'absent',
          actual: 'present',
          detail: `${name} is in the restored database but not in the ${label}`,
        });
      }
    }
    const total = Object.keys(want).length;
    if (total === 0 && differences.length === 0) continue;
    const summaryName = `objects: ${category} (${label})`;
    const later =
      !options.exact && extra.length > 0
        ? `; ${extra.length} not in the marker (made after it was taken) not compared`
        : '';
    // A backup that lost a million large objects must not make a report of a million checks.
    const named = differences.slice(0, MAX_OBJECT_CHECKS);
    const unnamed = differences.length - named.length;
    checks.push(
      differences.length === 0
        ? {
            name: summaryName,
            status: 'passed',
            expected: total,
            actual: matching,
            detail: `${matching} of ${total} match (${OBJECT_FINGERPRINT_ALGORITHM})${later}`,
          }
        : {
            name: summaryName,
            status: 'failed',
            expected: total,
            actual: matching,
            detail: `${differences.length} differ, ${unnamed > 0 ? `the first ${named.length} named in their own checks` : 'named in their own checks'}${later}`,
          },
      ...named,
    );
  }
  return checks;
}

function diffAttributes(
  want: ObjectAttributes,
  have: ObjectAttributes,
  ignored: ReadonlySet<string>,
  ownersIgnored: boolean,
): Array<{ attribute: string; want: string | null; have: string | null }> {
  const differences: Array<{ attribute: string; want: string | null; have: string | null }> = [];
  for (const attribute of Object.keys(want)) {
    if (ignored.has(attribute)) continue;
    let a = want[attribute] ?? null;
    let b = have[attribute] ?? null;
    // Without owners in the dump, the owner's own entry of an ACL names whoever restored it: compare it as "the owner".
    if (ownersIgnored && attribute === 'acl') {
      a = ownerNeutral(a, want.owner ?? null);
      b = ownerNeutral(b, have.owner ?? null);
    }
    if (a !== b) differences.push({ attribute, want: want[attribute] ?? null, have: have[attribute] ?? null });
  }
  return differences;
}

/** An ACL (JSON array of aclitem texts) with the owner's name replaced by `(owner)`. */
function ownerNeutral(acl: string | null, owner: string | null): string | null {
  if (acl === null || owner === null) return acl;
  let items: unknown;
  try {
    items = JSON.parse(acl);
  } catch {
    return acl;
  }
  if (!Array.isArray(items)) return acl;
  const name = aclName(owner);
  return JSON.stringify(
    items
      .map((item) =>
        String(item)
          .replace(new RegExp(`^${escapeRegExp(name)}=`), '(owner)=')
          .replace(new RegExp(`/${escapeRegExp(name)}$`), '/(owner)'),
      )
      .sort(),
  );
}

/** A role name as aclitem prints it: quoted unless it is only letters, digits and underscores. */
function aclName(role: string): string {
  return /^[A-Za-z0-9_]+$/.test(role) ? role : `"${role.replace(/"/g, '""')}"`;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** `(expected X, found Y)` for values a reader can use; digests are not shown. */
function shown(attribute: string, want: string | null, have: string | null): string {
  if (isDigest(want) || isDigest(have)) return '';
  const word = (value: string | null) =>
    value === null
      ? 'none'
      : attribute === 'enabled'
        ? (ENABLED_WORDS[value] ?? value)
        : value.length > 200
          ? `${value.slice(0, 200)}…`
          : value;
  return ` (expected ${word(want)}, found ${word(have)})`;
}

function isDigest(value: string | null): boolean {
  return value !== null && /^[0-9a-f]{64}$/.test(value);
}
