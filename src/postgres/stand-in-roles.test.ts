import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { findPgBinaries } from './pg-binaries.ts';
import { runCommand } from './run-command.ts';
import { rolesInSql, rolesNamedInDump } from './stand-in-roles.ts';

describe('rolesInSql', () => {
  test("finds owners, grantees, grantors, default-privilege and policy roles in pg_dump's SQL, unquoted", () => {
    const sql = [
      'ALTER TABLE public.docs OWNER TO app;',
      'ALTER FUNCTION "Odd.Schema"."Weird Fn"(x text) OWNER TO "App Owner";',
      'ALTER LARGE OBJECT 16557 OWNER TO lo_owner;',
      'GRANT SELECT(id) ON TABLE public.events TO "Odd ""Role"".x";',
      'GRANT ALL ON FUNCTION public.add_one(i integer) TO reader WITH GRANT OPTION;',
      'GRANT SELECT ON TABLE public.t TO grantee GRANTED BY grantor;',
      'REVOKE ALL ON FUNCTION public.add_one(i bigint) FROM PUBLIC;',
      'REVOKE SELECT ON TABLE public.t FROM revoked;',
      'ALTER DEFAULT PRIVILEGES FOR ROLE deployer IN SCHEMA public GRANT SELECT ON TABLES  TO reader;',
      'SET SESSION AUTHORIZATION delegate;',
      'CREATE POLICY docs_cheap ON public.docs FOR SELECT TO shop_reader, "Auditors" USING ((owner_name = CURRENT_USER));',
      'CREATE POLICY open ON public.docs USING (true);',
      'GRANT USAGE ON SCHEMA public TO CURRENT_USER;',
    ].join('\n');
    expect(rolesInSql(sql)).toEqual(
      [
        'App Owner',
        'Auditors',
        'Odd "Role".x',
        'app',
        'delegate',
        'deployer',
        'grantee',
        'grantor',
        'lo_owner',
        'reader',
        'revoked',
        'shop_reader',
      ].sort(),
    );
  });

  test('text inside a function body that is not a statement of its own names no role', () => {
    expect(
      rolesInSql("CREATE FUNCTION f() RETURNS text LANGUAGE sql AS $$ select 'ALTER TABLE t OWNER TO nobody' $$;"),
    ).toEqual([]);
  });
});

describe('rolesNamedInDump', () => {
  test('a file pg_restore cannot read gives no roles and one line why: the restore reports the damage', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'stand-in-roles-test-'));
    try {
      await writeFile(join(dir, 'not.dump'), 'not a dump');
      const lines: string[] = [];
      const pgRestore = async (args: readonly string[]) =>
        (await runCommand(findPgBinaries({ tools: ['pg_restore'] }).path('pg_restore'), args)).stdout;
      expect(await rolesNamedInDump(pgRestore, join(dir, 'not.dump'), (line) => lines.push(line))).toEqual([]);
      expect(lines).toEqual([
        expect.stringMatching(
          /^restore: could not list the roles the dump names, so none get stand-ins: pg_restore exited with code 1/,
        ),
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
