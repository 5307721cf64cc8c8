import pg from 'pg';
import { InterruptedError } from '../errors.ts';

/** The comment that marks a role restore-drill created as a stand-in; also how a drill finds them again. */
const STAND_IN_COMMENT = 'restore-drill stand-in role';

/** An identifier as pg_dump prints it: `"quoted ""like"" this"` or bare lower case. */
const IDENT = String.raw`(?:"(?:[^"]|"")+"|[A-Za-z_\u0080-\uffff][A-Za-z0-9_$\u0080-\uffff]*)`;

/** Where pg_dump's DDL names a role (owners, grantees, grantors, default-privilege and policy roles). */
const ROLE_PATTERNS: readonly RegExp[] = [
  new RegExp(String.raw` OWNER TO (${IDENT});$`),
  new RegExp(
    String.raw`^(?:GRANT|REVOKE) .+ (?:TO|FROM) (${IDENT})(?: WITH GRANT OPTION)?(?: GRANTED BY (${IDENT}))?;$`,
  ),
  new RegExp(String.raw`^ALTER DEFAULT PRIVILEGES FOR ROLE (${IDENT}) `),
  new RegExp(String.raw`^SET SESSION AUTHORIZATION (${IDENT});$`),
  new RegExp(String.raw`^CREATE POLICY .+? TO ((?:${IDENT})(?:, ${IDENT})*)(?: USING| WITH CHECK|;)`),
];

/** Key words pg_dump prints where a role could be, which are not roles. */
const NOT_ROLES = new Set(['public', 'current_user', 'session_user', 'current_role']);

/**
 * The roles a dump's DDL names: owners (`OWNER TO`, large objects' too), grantees and grantors,
 * default-privilege roles and policy roles — what a restore with owners and privileges needs to exist. Read
 * from pg_restore's own SQL of the dump without its data (`--section=pre-data --section=post-data --file=-`),
 * so it works with or without a manifest. `pgRestore` runs pg_restore with the given arguments and returns
 * its stdout (on the host, or inside a container). The dump is untrusted: a name found here is only ever
 * quoted, never run. A dump pg_restore cannot read gives no roles and one `log` line: the restore itself
 * then says what is wrong with it.
 *
 * @example
 * const roles = await rolesNamedInDump(async (args) => (await runCommand(bin, args)).stdout, 'backups/shop.dump');
 */
export async function rolesNamedInDump(
  pgRestore: (args: readonly string[]) => Promise<string>,
  dumpPath: string,
  log: (line: string) => void = () => {},
): Promise<string[]> {
  try {
    return rolesInSql(await pgRestore(['--section=pre-data', '--section=post-data', '--file=-', dumpPath]));
  } catch (error) {
    if (error instanceof InterruptedError) throw error;
    log(
      `restore: could not list the roles the dump names, so none get stand-ins: ${(error as Error).message.split('\n')[0]}`,
    );
    return [];
  }
}

/** The role names in SQL as pg_dump writes it (see {@link rolesNamedInDump}), sorted, each once. */
export function rolesInSql(sql: string): string[] {
  const roles = new Set<string>();
  for (const line of sql.split('\n')) {
    for (const pattern of ROLE_PATTERNS) {
      const match = pattern.exec(line);
      if (!match) continue;
      for (const group of match.slice(1)) {
        if (!group) continue;
        for (const raw of group.match(new RegExp(IDENT, 'g')) ?? []) {
          if (!raw.startsWith('"') && NOT_ROLES.has(raw.toLowerCase())) continue;
          roles.add(raw.startsWith('"') ? raw.slice(1, -1).replace(/""/g, '"') : raw.toLowerCase());
        }
      }
    }
  }
  return [...roles].sort();
}

/**
 * Creates, in a disposable environment, each of `roles` that does not exist yet as a NOLOGIN role with no
 * privileges, commented as restore-drill's stand-in for this run, so a restore can bring back the grants
 * and ownerships that name it. Names are untrusted input: always quoted. A role that cannot be created
 * (e.g. a reserved `pg_` name of a newer PostgreSQL) is logged, and the restore reports what then fails.
 * Returns the roles created.
 */
export async function createStandInRoles(
  config: pg.ClientConfig,
  roles: readonly string[],
  runId: string,
  log: (line: string) => void,
): Promise<string[]> {
  if (roles.length === 0) return [];
  const client = new pg.Client(config);
  await client.connect();
  try {
    const { rows } = await client.query<{ rolname: string }>('select rolname from pg_roles where rolname = any($1)', [
      roles,
    ]);
    const existing = new Set(rows.map((row) => row.rolname));
    const created: string[] = [];
    for (const role of roles.filter((r) => !existing.has(r))) {
      try {
        await client.query(`create role ${pg.escapeIdentifier(role)} nologin`);
        await client.query(
          `comment on role ${pg.escapeIdentifier(role)} is ${pg.escapeLiteral(`${STAND_IN_COMMENT} of run ${runId}`)}`,
        );
        created.push(role);
      } catch (error) {
        log(`restore: could not create stand-in role ${pg.escapeIdentifier(role)}: ${(error as Error).message}`);
      }
    }
    if (created.length > 0)
      log(
        `restore: created NOLOGIN stand-in roles for roles the dump names: ${created.map((r) => pg.escapeIdentifier(r)).join(', ')}`,
      );
    return created;
  } finally {
    await client.end();
  }
}

/** The stand-in roles restore-drill created in the connected (disposable) cluster, quoted, sorted. */
export async function standInRoles(client: pg.ClientBase): Promise<string[]> {
  const { rows } = await client.query<{ rolname: string }>(
    `select r.rolname from pg_roles r join pg_shdescription d on d.objoid = r.oid and d.classoid = 'pg_authid'::regclass
     where starts_with(d.description, $1) order by 1`,
    [STAND_IN_COMMENT],
  );
  return rows.map((row) => pg.escapeIdentifier(row.rolname));
}
