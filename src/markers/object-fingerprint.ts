import type pg from 'pg';
import {
  OBJECT_CATEGORIES,
  OBJECT_FINGERPRINT_ALGORITHM,
  type ObjectAttributes,
  type ObjectCategory,
  type ObjectFingerprint,
} from '../model/object-fingerprint.ts';

/** Options of {@link takeObjectFingerprint}. */
export interface ObjectFingerprintOptions {
  /** Also read every large object's content (sha256 of `lo_get`); default true. */
  readonly largeObjectContent?: boolean;
}

/**
 * Takes the object fingerprint (`rdobj/1`) of the connected database, in the client's current snapshot:
 * every schema object a restore must bring back, each with its definition digest, owner, privileges and
 * the state that matters (trigger enabled, row-level security, extension version, large object content).
 * The same function fingerprints production (in the marker's snapshot) and the restored copy.
 *
 * It runs no user-defined code: only catalog queries and built-in functions (`pg_get_functiondef`,
 * `pg_get_viewdef`, `pg_get_triggerdef`, `pg_get_expr`, `lo_get`, `sha256`), with `search_path` pinned to
 * `pg_catalog` so names print schema-qualified (and put back afterwards: this may run inside a marker's
 * snapshot transaction). Objects of extensions (recreated by `CREATE EXTENSION`), system schemas and
 * `restore_drill` itself are left out.
 *
 * @example
 * const fingerprint = await takeObjectFingerprint(client);
 * fingerprint.objects.triggers?.['trigger events_keep_note on public.events']; // { definition: '…', enabled: 'O' }
 */
export async function takeObjectFingerprint(
  client: pg.ClientBase,
  options: ObjectFingerprintOptions = {},
): Promise<ObjectFingerprint> {
  const {
    rows: [saved],
  } = await client.query<{ path: string; major: number }>(
    "select current_setting('search_path') as path, current_setting('server_version_num')::int / 10000 as major",
  );
  await client.query("select set_config('search_path', 'pg_catalog', false)");
  try {
    const { rows } = await client.query<{
      category: ObjectCategory;
      name: string;
      attributes: Record<string, string | null>;
    }>(objectsSql(saved!.major));
    const objects: Partial<Record<ObjectCategory, Record<string, ObjectAttributes>>> = {};
    for (const row of rows) (objects[row.category] ??= {})[row.name] = row.attributes;
    const unreadable: string[] = [];
    const large = await client.query<{ name: string; owner: string; acl: string; content: string | null }>(
      largeObjectsSql(options.largeObjectContent ?? true),
    );
    if (large.rows.length > 0) {
      const entries: Record<string, ObjectAttributes> = {};
      for (const row of large.rows) {
        entries[row.name] = { owner: row.owner, acl: row.acl, content: row.content };
        if (row.content === null && (options.largeObjectContent ?? true))
          unreadable.push(`${row.name}: content (the marking role may not read it)`);
      }
      objects['large objects'] = entries;
    }
    // Categories in one fixed order, so the JSON reads the same way every time.
    const ordered: Partial<Record<ObjectCategory, Record<string, ObjectAttributes>>> = {};
    for (const category of OBJECT_CATEGORIES) if (objects[category]) ordered[category] = objects[category];
    return {
      algorithm: OBJECT_FINGERPRINT_ALGORITHM,
      serverMajor: saved!.major,
      objects: ordered,
      ...(unreadable.length ? { unreadable } : {}),
    };
  } finally {
    await client.query("select set_config('search_path', $1, false)", [saved!.path]);
  }
}

/**
 * Adds the nullable `objects` column to `restore_drill.markers` of a database whose markers table predates
 * object fingerprints. Only when it is missing: DDL fires the database's event triggers (user code), so a
 * marker table that has it already is left alone. Older markers keep `objects` null; older readers select
 * their columns by name and never see it.
 */
export async function ensureObjectsColumn(client: pg.ClientBase): Promise<void> {
  const { rows } = await client.query<{ found: boolean }>(
    "select exists (select from pg_attribute where attrelid = 'restore_drill.markers'::regclass and attname = 'objects' and not attisdropped) as found",
  );
  if (!rows[0]!.found) await client.query('alter table restore_drill.markers add column if not exists objects jsonb');
}

/** sha256 hex of a text (null stays null). */
const digest = (text: string) => `encode(sha256(convert_to(${text}, 'UTF8')), 'hex')`;

/**
 * An ACL as a JSON array of `aclitem` texts, sorted; NULL (the built-in default) spelled out with
 * `acldefault`, so an explicit ACL equal to the default (which pg_dump does not dump) compares equal.
 */
const acl = (column: string, kind: string | null, owner: string) =>
  `(select coalesce(jsonb_agg(x::text order by x::text), '[]')::text from unnest(${kind ? `coalesce(${column}, acldefault((${kind})::"char", ${owner}))` : column}) x)`;

/** `<type> <identity>` as pg_identify_object names an object: quoted where needed, unambiguous. */
const identify = (catalog: string, oid: string, sub = '0') =>
  `(select o.type || ' ' || o.identity from pg_identify_object('${catalog}'::regclass, ${oid}, ${sub}) o)`;

/** Not a member of an extension (those come back with CREATE EXTENSION and are compared by its version). */
const notMember = (catalog: string, oid: string) =>
  `not exists (select from pg_depend member where member.classid = '${catalog}'::regclass and member.objid = ${oid} and member.deptype = 'e')`;

/** Schemas whose objects are the user's: not system schemas, not restore-drill's own. */
const USER_SCHEMAS = `(select oid from pg_namespace where nspname not in ('information_schema', 'restore_drill') and nspname !~ '^pg_')`;

/** The fingerprint query: one row per object (category, name, attributes). */
function objectsSql(major: number): string {
  const owner = (column: string) => `pg_get_userbyid(${column})`;
  return `
  select 'schemas' as category, ${identify('pg_namespace', 'n.oid')} as name,
         jsonb_build_object(
           'owner', case when n.oid = 2200 and n.nspowner = 10 then '(bootstrap superuser)' else ${owner('n.nspowner')} end,
           -- public's owner before PostgreSQL 15 is the bootstrap superuser, whose name differs between clusters
           'acl', case when n.oid = 2200 and n.nspowner = 10 then replace(${acl('n.nspacl', "'n'", 'n.nspowner')}, ${owner('10')}, '(bootstrap superuser)')
                       else ${acl('n.nspacl', "'n'", 'n.nspowner')} end) as attributes
    from pg_namespace n where n.oid in ${USER_SCHEMAS} and ${notMember('pg_namespace', 'n.oid')}
  union all
  select 'extensions', ${identify('pg_extension', 'x.oid')},
         jsonb_build_object('version', x.extversion, 'schema', x.extnamespace::regnamespace::text)
    from pg_extension x
  union all
  select 'types', ${identify('pg_type', 't.oid')},
         jsonb_build_object('owner', ${owner('t.typowner')}, 'acl', ${acl('t.typacl', "'T'", 't.typowner')}, 'definition', ${digest(`jsonb_build_array(
           t.typtype, format_type(t.typbasetype, t.typtypmod), t.typnotnull, t.typdefault, t.typcollation::regcollation::text,
           (select jsonb_agg(e.enumlabel order by e.enumsortorder) from pg_enum e where e.enumtypid = t.oid),
           (select jsonb_agg(c.conname || ': ' || pg_get_constraintdef(c.oid) order by c.conname) from pg_constraint c where c.contypid = t.oid),
           (select jsonb_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod) || ' ' || a.attcollation::regcollation::text order by a.attnum)
              from pg_attribute a where a.attrelid = t.typrelid and a.attnum > 0 and not a.attisdropped),
           (select jsonb_build_array(r.rngsubtype::regtype::text, r.rngcollation::regcollation::text, r.rngcanonical::regproc::text, r.rngsubdiff::regproc::text,
                     (select quote_ident(ns.nspname) || '.' || quote_ident(oc.opcname) from pg_opclass oc join pg_namespace ns on ns.oid = oc.opcnamespace where oc.oid = r.rngsubopc))
              from pg_range r where r.rngtypid = t.oid),
           case when t.typtype = 'b' then jsonb_build_array(t.typinput::regproc::text, t.typoutput::regproc::text, t.typreceive::regproc::text, t.typsend::regproc::text,
             t.typmodin::regproc::text, t.typmodout::regproc::text, t.typanalyze::regproc::text, t.typlen, t.typbyval, t.typalign, t.typstorage, t.typcategory,
             t.typispreferred, t.typdelim, t.typelem::regtype::text) end)::text`)})
    from pg_type t
   where t.typnamespace in ${USER_SCHEMAS} and ${notMember('pg_type', 't.oid')}
     and t.typtype in ('b', 'c', 'd', 'e', 'r')
     and not exists (select from pg_type a where a.typarray = t.oid)
     and (t.typrelid = 0 or (select c.relkind from pg_class c where c.oid = t.typrelid) = 'c')
  union all
  select 'functions', ${identify('pg_proc', 'p.oid')},
         jsonb_build_object('owner', ${owner('p.proowner')}, 'acl', ${acl('p.proacl', "'f'", 'p.proowner')}, 'definition', ${digest(`case when p.prokind = 'a' then
           (select jsonb_build_array(a.aggkind, a.aggnumdirectargs, a.aggtransfn::regproc::text, a.aggfinalfn::regproc::text, a.aggcombinefn::regproc::text,
              a.aggserialfn::regproc::text, a.aggdeserialfn::regproc::text, a.aggmtransfn::regproc::text, a.aggminvtransfn::regproc::text,
              a.aggmfinalfn::regproc::text, a.aggfinalextra, a.aggmfinalextra, a.aggsortop::regoperator::text, a.aggtranstype::regtype::text,
              a.aggmtranstype::regtype::text, a.agginitval, a.aggminitval, p.oid::regprocedure::text)::text from pg_aggregate a where a.aggfnoid = p.oid)
           else pg_get_functiondef(p.oid) end`)})
    from pg_proc p where p.pronamespace in ${USER_SCHEMAS} and ${notMember('pg_proc', 'p.oid')}
     -- not the constructors a range type makes for itself (they come back with the type)
     and not exists (select from pg_depend i where i.classid = 'pg_proc'::regclass and i.objid = p.oid and i.deptype = 'i')
  union all
  -- A table's columns by name, not position: pg_dump restores an inheritance child whose parent gained a
  -- column later with its columns in another order, and that is not a fault of the backup.
  select case when c.relkind in ('v', 'm') then 'views' when c.relkind = 'S' then 'sequences' else 'tables' end, ${identify('pg_class', 'c.oid')},
         jsonb_build_object('owner', ${owner('c.relowner')}, 'acl', ${acl('c.relacl', "case when c.relkind = 'S' then 's' else 'r' end", 'c.relowner')},
           'column acl', (select coalesce(jsonb_object_agg(a.attname, (select jsonb_agg(x::text order by x::text) from unnest(a.attacl) x)), '{}')::text
                            from pg_attribute a where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped and cardinality(a.attacl) > 0))
         || case when c.relkind in ('r', 'p', 'f') then jsonb_build_object(
              'rls', case when c.relrowsecurity then 'enabled' else 'disabled' end || case when c.relforcerowsecurity then ', forced' else '' end,
              'definition', ${digest(`jsonb_build_array(c.relkind, c.relpersistence, c.reloptions, c.relreplident, pg_get_partkeydef(c.oid), pg_get_expr(c.relpartbound, c.oid),
                (select jsonb_agg(i.inhparent::regclass::text order by i.inhseqno) from pg_inherits i where i.inhrelid = c.oid),
                (select jsonb_agg(jsonb_build_array(a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, a.attcollation::regcollation::text,
                          a.attidentity, a.attgenerated, pg_get_expr(d.adbin, d.adrelid)) order by a.attname)
                   from pg_attribute a left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
                  where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped))::text`)})
            when c.relkind in ('v', 'm') then jsonb_build_object('definition', ${digest('pg_get_viewdef(c.oid)')},
              'populated', case when c.relkind = 'm' then c.relispopulated::text end)
            else (select jsonb_build_object(
              'definition', format_type(s.seqtypid, null) || ' start ' || s.seqstart || ' increment ' || s.seqincrement || ' min ' || s.seqmin
                            || ' max ' || s.seqmax || ' cache ' || s.seqcache || case when s.seqcycle then ' cycle' else '' end,
              'owned by', (select (pg_identify_object(d.refclassid, d.refobjid, d.refobjsubid)).identity from pg_depend d
                            where d.classid = 'pg_class'::regclass and d.objid = c.oid and d.deptype in ('a', 'i') limit 1))
              from pg_sequence s where s.seqrelid = c.oid) end
    from pg_class c where c.relnamespace in ${USER_SCHEMAS} and c.relkind in ('r', 'p', 'f', 'v', 'm', 'S') and ${notMember('pg_class', 'c.oid')}
  union all
  select 'triggers', ${identify('pg_trigger', 't.oid')},
         jsonb_build_object('definition', ${digest('pg_get_triggerdef(t.oid)')}, 'enabled', t.tgenabled::text)
    from pg_trigger t join pg_class c on c.oid = t.tgrelid
   where not t.tgisinternal and c.relnamespace in ${USER_SCHEMAS} and ${notMember('pg_class', 'c.oid')}
  union all
  select 'event triggers', ${identify('pg_event_trigger', 'e.oid')},
         jsonb_build_object('owner', ${owner('e.evtowner')}, 'enabled', e.evtenabled::text,
           'definition', ${digest('jsonb_build_array(e.evtevent, e.evtfoid::regproc::text, e.evttags)::text')})
    from pg_event_trigger e where ${notMember('pg_event_trigger', 'e.oid')}
  union all
  select 'rules', ${identify('pg_rewrite', 'r.oid')},
         jsonb_build_object('definition', ${digest('pg_get_ruledef(r.oid)')}, 'enabled', r.ev_enabled::text)
    from pg_rewrite r join pg_class c on c.oid = r.ev_class
   where r.rulename <> '_RETURN' and c.relnamespace in ${USER_SCHEMAS} and ${notMember('pg_class', 'c.oid')}
  union all
  select 'policies', ${identify('pg_policy', 'p.oid')},
         jsonb_build_object('definition', ${digest(`jsonb_build_array(p.polcmd, p.polpermissive,
           (select jsonb_agg(case when r = 0 then 'public' else pg_get_userbyid(r) end order by 1) from unnest(p.polroles) r),
           pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid))::text`)})
    from pg_policy p join pg_class c on c.oid = p.polrelid
   where c.relnamespace in ${USER_SCHEMAS} and ${notMember('pg_class', 'c.oid')}
  union all
  select 'statistics', ${identify('pg_statistic_ext', 's.oid')},
         jsonb_build_object('owner', ${owner('s.stxowner')}, 'definition', ${digest('pg_get_statisticsobjdef(s.oid)')})
    from pg_statistic_ext s where s.stxnamespace in ${USER_SCHEMAS} and ${notMember('pg_statistic_ext', 's.oid')}
  union all
  select 'collations', ${identify('pg_collation', 'c.oid')},
         -- every column but the oids and the version (collversion follows the machine's libc/ICU, not the dump)
         jsonb_build_object('owner', ${owner('c.collowner')}, 'definition', ${digest("(to_jsonb(c) - 'oid' - 'collnamespace' - 'collowner' - 'collversion')::text")})
    from pg_collation c where c.collnamespace in ${USER_SCHEMAS} and ${notMember('pg_collation', 'c.oid')}
  union all
  select 'publications', ${identify('pg_publication', 'p.oid')},
         jsonb_build_object('owner', ${owner('p.pubowner')}, 'definition', ${digest(`jsonb_build_array(to_jsonb(p) - 'oid' - 'pubowner',
           (select jsonb_agg(jsonb_build_array(r.prrelid::regclass::text${
             // row filters and column lists exist from PostgreSQL 15 on
             major >= 15
               ? `, pg_get_expr(r.prqual, r.prrelid),
                  (select jsonb_agg(a.attname order by a.attname) from pg_attribute a where a.attrelid = r.prrelid and a.attnum = any(r.prattrs))`
               : ''
           }) order by r.prrelid::regclass::text) from pg_publication_rel r where r.prpubid = p.oid)${
             major >= 15
               ? `,
           (select jsonb_agg(s.pnnspid::regnamespace::text order by 1) from pg_publication_namespace s where s.pnpubid = p.oid)`
               : ''
           })::text`)})
    from pg_publication p
  union all
  select 'default privileges', ${identify('pg_default_acl', 'd.oid')}, jsonb_build_object('acl', ${acl('d.defaclacl', null, '')})
    from pg_default_acl d where d.defaclnamespace = 0 or d.defaclnamespace in ${USER_SCHEMAS}
  union all
  select 'comments', 'comment on ' || o.type || ' ' || o.identity, jsonb_build_object('text', ${digest('d.description')})
    from pg_description d cross join lateral pg_identify_object(d.classoid, d.objoid, d.objsubid) o
   where d.objoid >= 16384 and d.classoid <> 'pg_database'::regclass
     and not exists (select from pg_depend member where member.classid = d.classoid and member.objid = d.objoid and member.deptype = 'e')
     and coalesce(o.schema, '') <> 'restore_drill' and not (o.type = 'schema' and o.identity = 'restore_drill')
     -- a comment on something inside an extension member (a column of an extension's table) comes with the extension
     and not (d.classoid = 'pg_class'::regclass and not ${notMember('pg_class', 'd.objoid')})
  order by 1, 2`;
}

/**
 * Every large object: owner, privileges and the sha256 of its content (`lo_get`: the bytes of
 * pg_largeobject, holes read as zeros). Content the connected role may not read is null rather than an
 * error that would abort the marker's transaction.
 */
function largeObjectsSql(content: boolean): string {
  const readable = `((select rolsuper from pg_roles where rolname = current_user) or current_setting('lo_compat_privileges')::bool
     or pg_has_role(m.lomowner, 'USAGE')
     or exists (select from aclexplode(m.lomacl) a where a.privilege_type = 'SELECT' and (a.grantee = 0 or pg_has_role(a.grantee, 'USAGE'))))`;
  return `select ${identify('pg_largeobject', 'm.oid')} as name, pg_get_userbyid(m.lomowner) as owner,
       ${acl('m.lomacl', "'L'", 'm.lomowner')} as acl,
       ${content ? `case when ${readable} then encode(sha256(lo_get(m.oid)), 'hex') end` : 'null::text'} as content
  from pg_largeobject_metadata m order by m.oid`;
}
